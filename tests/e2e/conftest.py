"""The real cluster for e2e tests: an existing one (KUBECONFIG) or the harness's.

With KUBECONFIG set (kind on a laptop, say) the suite uses that cluster and
never starts or stops anything. Otherwise the harness is started once per test
session and stopped at its end (DEPLOY_GATE_KEEP_CLUSTER=1 keeps it running).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import build
from tests.cluster.cluster import Cluster
from tests.testing.e2e import (
    CLEANUP_LABEL,
    EXAMPLES,
    INCIDENT_NAMESPACE,
    E2ECluster,
    delete_namespace_and_wait,
    make_default_service_account,
)


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


@pytest.fixture
def incident_namespace(cluster: E2ECluster) -> Iterator[str]:
    """A clean video-analytics namespace for the examples (made as their manifests make it), removed afterwards."""
    delete_namespace_and_wait(cluster, INCIDENT_NAMESPACE)
    cluster.kubectl("apply", "-f", str(EXAMPLES / "incident-scenario-2" / "manifests" / "00-namespace.yaml"))
    make_default_service_account(cluster, INCIDENT_NAMESPACE)
    yield INCIDENT_NAMESPACE
    delete_namespace_and_wait(cluster, INCIDENT_NAMESPACE)
