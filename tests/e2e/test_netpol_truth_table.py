"""The NetworkPolicy evaluator against the real enforcer, as a truth table (after Kubernetes' netpol e2e).

Expected: `deploy-gate explain` for every caller x target. Observed: a TCP connect from a pod of the
caller to the target Service. `.` connects, `X` is blocked; a pod reaching itself is always allowed
(loopback, below). The enforcer programs rules asynchronously,
so the observed table is read again until it settles or 60 s pass; then both must agree cell for cell.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from tests.testing.e2e import E2ECluster, deployment, gate, service

APPS = ("gateway", "orders", "ledger")
HTTPD = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo ok > /www/index.html; "
                     "httpd -f -p 8080 -h /www & wait"]


def _policies(namespace: str) -> list[dict]:
    """ledger admits only orders; gateway admits nobody; orders is not isolated."""
    def policy(name: str, target: str, ingress: list[dict]) -> dict:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"podSelector": {"matchLabels": {"app": target}}, "policyTypes": ["Ingress"],
                         "ingress": ingress}}
    return [policy("ledger-from-orders", "ledger", [{"from": [{"podSelector": {"matchLabels": {"app": "orders"}}}],
                                                     "ports": [{"port": 8080, "protocol": "TCP"}]}]),
            policy("gateway-closed", "gateway", [])]


def _table(cells: dict[tuple[str, str], bool]) -> str:
    width = max(map(len, APPS))
    lines = [" " * width + "  " + " ".join(target[0] for target in APPS)]
    lines += [f"{caller:>{width}}  " + " ".join("." if cells[caller, target] else "X" for target in APPS)
              for caller in APPS]
    return "\n".join(lines)


def test_evaluator_and_enforcer_agree_on_every_pair(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    objects = []
    for app in APPS:
        made = deployment(app, command=HTTPD, ports=[{"name": "http", "containerPort": 8080}])
        made["metadata"]["namespace"] = namespace
        objects.append(made)
        exposed = service(app, {"app": app})
        exposed["metadata"]["namespace"] = namespace
        objects.append(exposed)
    objects += _policies(namespace)
    manifest = tmp_path / "apps.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    cluster.kubectl("apply", "-f", str(manifest))
    for app in APPS:
        cluster.kubectl("-n", namespace, "rollout", "status", f"deployment/{app}", "--timeout=120s")

    answers = {(caller, target): gate(cluster, "explain", "--from", f"{namespace}/{caller}", "--to",
                                      f"{namespace}/{target}:80", "-f", str(manifest))
               for caller in APPS for target in APPS}
    assert {a.returncode for a in answers.values()} <= {0, 1}, [a.stderr for a in answers.values()]
    expected = {pair: answer.returncode == 0 for pair, answer in answers.items()}

    def observe() -> dict[tuple[str, str], bool]:
        return {(caller, target): cluster.kubectl(
            "-n", namespace, "exec", f"deployment/{caller}", "--", "sh", "-c",
            f"nc -w 3 {target}.{namespace}.svc 80 </dev/null", check=False).returncode == 0
            for caller in APPS for target in APPS}

    # Loopback: a pod reaching its own Service lands on itself and is masqueraded to the node's address, and
    # traffic from the pod's node is always admitted. Kubernetes' own netpol e2e allows loopback the same way.
    for app in APPS:
        expected[app, app] = True
    deadline = time.monotonic() + 60
    observed = observe()
    while observed != expected and time.monotonic() < deadline:
        time.sleep(2)
        observed = observe()
    assert observed == expected, f"expected (evaluator):\n{_table(expected)}\nobserved (probes):\n{_table(observed)}"
    # The table is not trivially all-open or all-closed: the policies decide some cells each way.
    assert expected[("orders", "ledger")] and not expected[("gateway", "ledger")]
    assert not expected[("orders", "gateway")] and expected[("ledger", "orders")]
