"""Issue 2's acceptance: the incident, reproduced for real on the harness's cluster.

Real DNS, kube-proxy, EndpointSlices and NetworkPolicy enforcement decide every
assertion here; nothing is simulated.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import ClusterError as HarnessError
from tests.cluster.cluster import leftovers
from tests.testing.e2e import ADMIT_FRONTEND, E2ECluster, ExampleSite, apply_example, wait_for

LABEL_FIX = '[{"op":"add","path":"/spec/template/metadata/labels/tier","value":"backend"}]'
# busybox's wget crashes in this image (Debian's static build); nc speaks HTTP/1.0 by hand.
HTTP_GET = ('printf "GET /health HTTP/1.0\\r\\nHost: inference-api\\r\\n\\r\\n" '
            '| nc -w 5 inference-api 8080')


@pytest.fixture
def incident(site: ExampleSite) -> ExampleSite:
    apply_example(site, "incident-scenario-2")
    return site


def ready_endpoints(site: ExampleSite) -> int:
    slices = json.loads(site.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=inference-api",
                                     "-o", "json").stdout)["items"]
    return sum(1 for s in slices for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))


def http_from(site: ExampleSite, deployment: str) -> tuple[bool, str]:
    """(got HTTP 200, what the caller saw) for GET /health from one pod of the deployment."""
    result = site.kubectl("exec", f"deployment/{deployment}", "--", "sh", "-c", HTTP_GET, check=False, timeout=60)
    seen = (result.stdout + result.stderr).strip()
    return "HTTP/1.1 200" in result.stdout or "HTTP/1.0 200" in result.stdout, seen


def test_incident_pods_ready_but_no_endpoints(incident: ExampleSite) -> None:
    pods = json.loads(incident.kubectl("get", "pods", "-l", "app=inference-api", "-o", "json").stdout)["items"]
    assert len(pods) == 3
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        assert ready == "True", pod["metadata"]["name"]
        assert "tier" not in pod["metadata"]["labels"]
    wait_for("the EndpointSlice controller to publish the Service's slice", lambda: json.loads(
        incident.kubectl("get", "endpointslices", "-o", "json").stdout)["items"] != [], 30)
    assert ready_endpoints(incident) == 0


def test_label_fix_gives_endpoints_and_gateway_gets_200(incident: ExampleSite) -> None:
    incident.kubectl("patch", "deployment", "inference-api", "--type=json", "-p", LABEL_FIX)
    incident.kubectl("rollout", "status", "deployment/inference-api", "--timeout=120s")
    wait_for("3 ready endpoints", lambda: ready_endpoints(incident) == 3, 60)
    # CoreDNS and kube-proxy follow the new endpoints within moments (longer on a machine busy with other tests).
    wait_for("HTTP 200 from api-gateway", lambda: http_from(incident, "api-gateway")[0], 30, 1)


def test_policy_blocks_web_frontend_until_admitted(incident: ExampleSite) -> None:
    incident.kubectl("patch", "deployment", "inference-api", "--type=json", "-p", LABEL_FIX)
    incident.kubectl("rollout", "status", "deployment/inference-api", "--timeout=120s")
    wait_for("3 ready endpoints", lambda: ready_endpoints(incident) == 3, 60)
    ok, seen = http_from(incident, "web-frontend")
    assert not ok, f"web-frontend reached inference-api through inference-api-netpol: {seen}"
    # kube-router rejects (connection refused); plugins that drop (Calico, kindnet) time out instead.
    assert "refused" in seen.lower() or "timed out" in seen.lower(), seen
    incident.kubectl("patch", "networkpolicy", "inference-api-netpol", "--type=json",
                     "-p", ADMIT_FRONTEND)
    wait_for("web-frontend admitted by the patched policy", lambda: http_from(incident, "web-frontend")[0], 60, 1)


@contextlib.contextmanager
def decoys(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """What another cluster on the machine would own: a process in a `kubepods` cgroup and a KUBE-* chain."""
    cgroup = Path("/sys/fs/cgroup/pids/kubepods/deploy-gate-decoy")
    cgroup.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(["sleep", "600"])
    try:
        (cgroup / "cgroup.procs").write_text(str(process.pid))
        subprocess.run(["iptables", "-N", "KUBE-DECOY"], check=True)
        subprocess.run(["iptables", "-A", "INPUT", "-m", "comment", "--comment", "deploy-gate decoy", "-j",
                        "KUBE-DECOY"], check=True)
        yield process, cgroup
    finally:
        process.kill()
        process.wait()
        subprocess.run(["iptables", "-D", "INPUT", "-m", "comment", "--comment", "deploy-gate decoy", "-j",
                        "KUBE-DECOY"], check=False)
        subprocess.run(["iptables", "-X", "KUBE-DECOY"], check=False)
        with contextlib.suppress(OSError):
            cgroup.rmdir()
            cgroup.parent.rmdir()  # only when the decoy made it: another kubelet's /kubepods is not empty


@pytest.mark.disruptive
def test_down_then_up_touches_only_what_the_harness_made(cluster: E2ECluster, tmp_path: Path) -> None:
    if cluster.harness is None:
        pytest.skip("the cluster is not the harness's (KUBECONFIG was set): nothing of ours to stop")
    cluster.harness.down()
    assert leftovers() == []
    with decoys(tmp_path) as (process, cgroup):
        impostor = tmp_path / "kubelet"  # a kubelet this harness did not start: `up` must refuse
        shutil.copy("/bin/sleep", impostor)
        foreign = subprocess.Popen([str(impostor), "600"])
        try:
            with pytest.raises(HarnessError, match=rf"refusing to start: kubelet \(pid {foreign.pid}\) is running"):
                cluster.harness.up()
        finally:
            foreign.kill()
            foreign.wait()
        cluster.harness.up()
        cluster.harness.down()
        assert leftovers() == []
        assert process.poll() is None and str(process.pid) in (cgroup / "cgroup.procs").read_text().split()
        assert subprocess.run(["iptables", "-C", "INPUT", "-m", "comment", "--comment", "deploy-gate decoy", "-j",
                               "KUBE-DECOY"], capture_output=True).returncode == 0
    cluster.harness.up()
    assert cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    # A partial cluster of its own (one daemon died, the others still hold their ports) is taken down and
    # started again, not mistaken for another node.
    cluster.harness.kill("kube-apiserver")
    cluster.harness.up()
    assert cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
