"""Helpers shared by the e2e tests (their fixtures are in tests/e2e/conftest.py): the cluster they drive, run
deploy-gate, build objects, act as a ServiceAccount."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polling2
import yaml

from gate.verify.probe import PROBE_LABEL
from tests.cluster import build
from tests.cluster import config as harness
from tests.cluster.cluster import Cluster
from tests.testing import TEST_RUN, XDIST_WORKER
from tests.testing.git import ROOT

CLEANUP_LABEL = "deploy-gate.test/e2e"
EXAMPLES_NAMESPACE = "video-analytics"  # the namespace every example deploys into
# The seed's second patch: admit web-frontend to inference-api.
ADMIT_FRONTEND = ('[{"op":"add","path":"/spec/ingress/0/from/-",'
                  '"value":{"podSelector":{"matchLabels":{"app":"web-frontend"}}}}]')


@dataclass
class E2ECluster:
    kubeconfig: Path
    kubectl_path: str
    harness: Cluster | None  # None when the suite runs against someone else's cluster

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.kubectl_path, "--kubeconfig", str(self.kubeconfig), *args],
                                input=input_text, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (deploy-gate itself): this cluster, and kubectl on PATH."""
        path = f"{Path(self.kubectl_path).parent}{os.pathsep}{os.environ['PATH']}"
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": path}


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60, interval: float = 0.5) -> None:
    try:
        polling2.poll(check, step=interval, timeout=timeout)
    except polling2.TimeoutException as timed_out:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from timed_out


def make_default_service_account(cluster: E2ECluster, name: str) -> None:
    """The API server refuses every pod of a namespace without one, and the ReplicaSet controller's retries
    back off for minutes; after the fault tests' API server restarts the controller manager was seen not
    to make it for over 2 minutes. So the harness makes it (as that controller would) unless it exists."""
    made = cluster.kubectl("-n", name, "create", "serviceaccount", "default", check=False)
    if made.returncode != 0 and "already exists" not in made.stderr:
        raise AssertionError(f"kubectl create serviceaccount default -n {name} failed: {made.stderr}")


def new_namespace_name() -> str:
    """A new namespace name, as long as the examples' own (see retarget_examples)."""
    name = f"dg-e2e-{uuid.uuid4().hex[:8]}"
    assert len(name) == len(EXAMPLES_NAMESPACE)
    return name


def retarget_examples(examples: Path, namespace: str) -> None:
    """Point a copy of examples/ at another namespace: every mention of the examples' namespace in its text files
    (metadata, RBAC subjects and names, `-n` in pipelines, policy selectors) becomes the given one. Tests run the
    examples side by side this way, each in a namespace of its own that nobody has to wait to delete; the names
    are of equal length, so each line and column a test asserts stays where it is in the repository."""
    assert len(namespace) == len(EXAMPLES_NAMESPACE), namespace
    for path in examples.rglob("*"):
        if path.is_file() and EXAMPLES_NAMESPACE.encode() in (content := path.read_bytes()):
            path.write_bytes(content.replace(EXAMPLES_NAMESPACE.encode(), namespace.encode()))


@dataclass(frozen=True)
class ExampleSite:
    """The examples copied for one test and retargeted at its namespace on the cluster. `root` holds `examples/`
    and is where deploy-gate runs, so the paths it prints read as they do in the repository."""

    cluster: E2ECluster
    namespace: str
    root: Path

    @property
    def examples(self) -> Path:
        return self.root / "examples"

    def gate(self, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
        """deploy-gate run in the site's root (see `gate`)."""
        return gate(self.cluster, *args, cwd=self.root, **options)

    def kubectl(self, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
        """kubectl in the site's namespace."""
        return self.cluster.kubectl("-n", self.namespace, *args, **options)

    def probe_pods(self) -> list[str]:
        """deploy-gate's probe pods in the site's namespace (other tests probe in theirs meanwhile)."""
        return self.kubectl("get", "pods", "-l", f"{PROBE_LABEL}=true", "-o", "name").stdout.split()


def apply_example(site: ExampleSite, example: str) -> None:
    """kubectl apply an example's manifests/ (in the site's namespace) and wait for its three Deployments."""
    site.cluster.kubectl("apply", "-f", str(site.examples / example / "manifests"))
    for deployment in ("inference-api", "api-gateway", "web-frontend"):
        site.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=120s")


WORKER = os.environ.get(XDIST_WORKER)  # this process's pytest-xdist worker name, if it is one
STARTED_FOR_RUN = harness.CACHE_DIR / "e2e-cluster-started-for-run"


@contextlib.contextmanager
def exclusive(what: str) -> Iterator[None]:
    """Hold `what` alone across pytest-xdist's workers (a file lock): for what tests cannot each have their own."""
    harness.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (harness.CACHE_DIR / f"e2e-{what}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def shared_harness() -> tuple[Cluster, Path]:
    """The harness's cluster, started unless it runs: (harness, admin kubeconfig). The first of pytest-xdist's
    workers builds and starts it, the others wait, then reuse it; no worker may stop it (the others may still use
    it), so the one that started it records this run for the controller to stop it at the end (tests/conftest.py)."""
    with exclusive("cluster-up"):
        cluster = Cluster(build.build_all())
        started = not cluster.is_running()
        kubeconfig = cluster.up()
        if started and WORKER:
            STARTED_FOR_RUN.write_text(os.environ.get(TEST_RUN, ""))
        return cluster, kubeconfig


def stop_if_started_for(run: str) -> None:
    """Stop the harness's cluster if this run's workers started it (not kept, not someone else's)."""
    if STARTED_FOR_RUN.exists() and run and STARTED_FOR_RUN.read_text() == run:
        STARTED_FOR_RUN.unlink()
        if not os.environ.get("DEPLOY_GATE_KEEP_CLUSTER"):
            Cluster(build.build_all()).down()


IMAGE = harness.BUSYBOX_IMAGE
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def gate(cluster: E2ECluster, *args: str, env: dict[str, str] | None = None, timeout: float = 200,
         cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """This checkout's deploy-gate, in whatever directory it runs (PYTHONPATH: not an installed copy)."""
    return subprocess.run([sys.executable, "-m", "gate", *args], capture_output=True, text=True, cwd=cwd,
                          env={**(env or cluster.env()), "PYTHONPATH": str(ROOT)}, timeout=timeout)


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
