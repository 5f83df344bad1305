"""The real cluster for e2e tests: an existing one (KUBECONFIG) or the harness's.

With KUBECONFIG set (kind on a laptop, say) the suite uses that cluster and
never starts or stops anything. Otherwise the harness is started once per test
session and stopped at its end (DEPLOY_GATE_KEEP_CLUSTER=1 keeps it running).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polling2
import pytest

from tests.cluster import build
from tests.cluster.cluster import Cluster

CLEANUP_LABEL = "deploy-gate.test/e2e"
EXAMPLES = Path(__file__).parents[2] / "examples"
INCIDENT_NAMESPACE = "video-analytics"
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


@pytest.fixture(scope="session")
def cluster() -> Iterator[E2ECluster]:
    external = os.environ.get("KUBECONFIG")
    if external:
        kubectl = subprocess.run(["which", "kubectl"], capture_output=True, text=True).stdout.strip()
        yield E2ECluster(Path(external), kubectl or "kubectl", None)
        return
    binaries = build.build_all()
    harness = Cluster(binaries)
    kubeconfig = harness.up()
    try:
        yield E2ECluster(kubeconfig, str(binaries["kubectl"]), harness)
    finally:
        if not os.environ.get("DEPLOY_GATE_KEEP_CLUSTER"):
            harness.down()


@pytest.fixture
def namespace(cluster: E2ECluster) -> Iterator[str]:
    """A fresh namespace per test, labelled for cleanup, deleted afterwards."""
    name = f"dg-e2e-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, f"{CLEANUP_LABEL}=true")
    make_default_service_account(cluster, name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


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


def delete_namespace_and_wait(cluster: E2ECluster, name: str, timeout: float = 120) -> None:
    cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true", f"--timeout={int(timeout)}s")


def apply_example(cluster: E2ECluster, example: str) -> None:
    """kubectl apply an example's manifests/ and wait for its three Deployments."""
    cluster.kubectl("apply", "-f", str(EXAMPLES / example / "manifests"))
    for deployment in ("inference-api", "api-gateway", "web-frontend"):
        cluster.kubectl("-n", INCIDENT_NAMESPACE, "rollout", "status", f"deployment/{deployment}", "--timeout=120s")


@pytest.fixture
def incident_namespace(cluster: E2ECluster) -> Iterator[str]:
    """A clean video-analytics namespace for the examples (made as their manifests make it), removed afterwards."""
    delete_namespace_and_wait(cluster, INCIDENT_NAMESPACE)
    cluster.kubectl("apply", "-f", str(EXAMPLES / "incident-scenario-2" / "manifests" / "00-namespace.yaml"))
    make_default_service_account(cluster, INCIDENT_NAMESPACE)
    yield INCIDENT_NAMESPACE
    delete_namespace_and_wait(cluster, INCIDENT_NAMESPACE)
