"""The real cluster for e2e tests: an existing one (KUBECONFIG) or the harness's.

With KUBECONFIG set (kind on a laptop, say) the suite uses that cluster and
never starts or stops anything. Otherwise the harness is started once per test
session and stopped at its end (DEPLOY_GATE_KEEP_CLUSTER=1 keeps it running).
Under pytest-xdist (`-n N`) the workers share the one cluster: the first to
need it starts it, and the controller stops it when every worker is done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.e2e import (
    CLEANUP_LABEL,
    WORKER,
    E2ECluster,
    ExampleSite,
    make_default_service_account,
    new_namespace_name,
    retarget_examples,
    shared_harness,
)
from tests.testing.git import EXAMPLES


@pytest.fixture(scope="session")
def cluster() -> Iterator[E2ECluster]:
    external = os.environ.get("KUBECONFIG")
    if external:
        kubectl = subprocess.run(["which", "kubectl"], capture_output=True, text=True).stdout.strip()
        yield E2ECluster(Path(external), kubectl or "kubectl", None)
        return
    harness, kubeconfig = shared_harness()
    try:
        yield E2ECluster(kubeconfig, str(harness.binaries["kubectl"]), harness)
    finally:
        if not WORKER and not os.environ.get("DEPLOY_GATE_KEEP_CLUSTER"):
            harness.down()


def _create_namespace(cluster: E2ECluster, name: str, manifest: Path | None = None) -> None:
    if manifest is None:
        cluster.kubectl("create", "namespace", name)
    else:
        cluster.kubectl("apply", "-f", str(manifest))
    cluster.kubectl("label", "namespace", name, f"{CLEANUP_LABEL}=true")
    make_default_service_account(cluster, name)


@pytest.fixture
def namespace(cluster: E2ECluster) -> Iterator[str]:
    """A fresh namespace per test, labelled for cleanup, deleted afterwards."""
    name = new_namespace_name()
    _create_namespace(cluster, name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def site(cluster: E2ECluster, tmp_path: Path) -> Iterator[ExampleSite]:
    """The examples, retargeted at a fresh namespace of this test's (made as their manifests make it): tests that
    deploy them run side by side. Deleted afterwards, with the cluster-scoped binding named after it."""
    root = tmp_path / "site"
    shutil.copytree(EXAMPLES, root / "examples")
    name = new_namespace_name()
    retarget_examples(root / "examples", name)
    _create_namespace(cluster, name, root / "examples" / "incident-scenario-2" / "manifests" / "00-namespace.yaml")
    yield ExampleSite(cluster, name, root)
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
    cluster.kubectl("delete", "clusterrolebinding", f"deploy-gate-read-namespaces-{name}", "--ignore-not-found",
                    check=False)
