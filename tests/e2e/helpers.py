"""Helpers shared by the e2e tests: run deploy-gate, build objects, act as a ServiceAccount."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.cluster import config as harness
from tests.e2e.conftest import E2ECluster, wait_for

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
IMAGE = harness.BUSYBOX_IMAGE
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def gate(cluster: E2ECluster, *args: str, env: dict[str, str] | None = None,
         timeout: float = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gate", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env or cluster.env(), timeout=timeout)


def deployment(name: str, replicas: int = 1, image: str = IMAGE, command: list[str] | None = None,
               labels: dict[str, str] | None = None, pull: str = "IfNotPresent", ports: list | None = None) -> dict:
    labels = labels or {"app": name}
    container = {"name": "main", "image": image, "imagePullPolicy": pull, "command": command or SLEEP}
    if ports:
        container["ports"] = ports
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}}}


def service(name: str, selector: dict | None, target: object = 8080) -> dict:
    spec: dict = {"ports": [{"name": "http", "port": 80, "targetPort": target}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def apply_and_verify(cluster: E2ECluster, namespace: str, tmp_path: Path, objects: list[dict],
                     *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    cluster.kubectl("-n", namespace, "apply", "-f", str(manifest))
    started = time.monotonic()
    result = gate(cluster, "verify", "-f", str(manifest), "-n", namespace, *extra)
    return result, time.monotonic() - started


def kubeconfig_for(cluster: E2ECluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig for a ServiceAccount's token: the identity a pipeline or an in-cluster Job has."""
    token = cluster.kubectl("-n", namespace, "create", "token", account, "--duration=10m").stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    cluster_entry = admin["clusters"][0]["cluster"]
    document = {"apiVersion": "v1", "kind": "Config", "current-context": "sa",
                "clusters": [{"name": "c", "cluster": cluster_entry}],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "c", "user": account, "namespace": namespace}}]}
    path.write_text(yaml.safe_dump(document))
    assert base64.b64decode(cluster_entry["certificate-authority-data"])  # the CA travels with it
    return path


def grant(cluster: E2ECluster, namespace: str, rules: list[dict]) -> None:
    """A Role with these rules, bound to the ServiceAccount `gate` of the namespace."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "gate", "namespace": namespace}, "rules": rules}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "gate", "namespace": namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gate"},
               "subjects": [{"kind": "ServiceAccount", "name": "gate", "namespace": namespace}]}
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all([role, binding]))


def wait_for_rbac(cluster: E2ECluster, account: str, verb: str, resource: str, namespace: str | None,
                  allowed: bool) -> None:
    """Poll `kubectl auth can-i` until the authorizer answers as expected: its RBAC cache follows a change
    within moments, and a test that raced it would be flaky."""
    resource, _, subresource = resource.partition("/")  # pods/exec: TYPE/NAME would mean a pod named exec
    args = ["auth", "can-i", verb, resource, "--as", account, *(["-n", namespace] if namespace else []),
            *([f"--subresource={subresource}"] if subresource else [])]
    wait_for(f"{account} {'may' if allowed else 'may not'} {verb} {resource}",
             lambda: (cluster.kubectl(*args, check=False).stdout.strip() == "yes") == allowed, timeout=30, interval=0.2)
