"""`verify --helm-release` on the real cluster, after the real `helm upgrade --install` of Helm 3 and Helm 4.

`helm --wait` passes on the incident chart: it waits for the pods, never for a Service's endpoints. The gate,
reading the release Helm just stored, fails in about a second naming tier=backend; the fixed values pass;
a release whose upgrade failed is reported as failed, in Helm's words.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster import build
from tests.testing.e2e import E2ECluster, gate
from tests.testing.git import EXAMPLES

CHART = EXAMPLES / "helm" / "inference-api"
FIXED = EXAMPLES / "helm" / "fixed-values.yaml"
RELEASE = "inference-api"


def helm(cluster: E2ECluster, binary: str, namespace: str, home: Path, *args: str,
         driver: str = "secret") -> subprocess.CompletedProcess[str]:
    """One helm command against the test cluster, its caches and config in `home`, storing with `driver`."""
    env = {**cluster.env(), "HELM_DRIVER": driver, "HELM_CACHE_HOME": str(home / "cache"),
           "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data")}
    return subprocess.run([str(build.binary(binary)), "--kubeconfig", str(cluster.kubeconfig), "-n", namespace,
                           *args], capture_output=True, text=True, env=env, timeout=300)


def verify(cluster: E2ECluster, namespace: str, driver: str = "secret") -> tuple[subprocess.CompletedProcess[str],
                                                                                  float]:
    started = time.monotonic()
    result = gate(cluster, "verify", "--helm-release", RELEASE, "-n", namespace,
                  env={**cluster.env(), "HELM_DRIVER": driver})
    return result, time.monotonic() - started


@pytest.mark.timing
@pytest.mark.parametrize("binary", ["helm", "helm4"])
def test_helm_wait_passes_the_incident_the_gate_fails_it_and_passes_the_fix(cluster: E2ECluster, namespace: str,
                                                                           tmp_path: Path, binary: str) -> None:
    installed = helm(cluster, binary, namespace, tmp_path, "upgrade", "--install", RELEASE, str(CHART),
                     "--timeout", "3m", "--wait")
    assert installed.returncode == 0, installed.stderr  # helm --wait never looks at endpoints
    result, elapsed = verify(cluster, namespace)
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed <= 15, f"took {elapsed:.1f} s"
    first = result.stdout.splitlines()[0]
    assert first.startswith("inference-api/templates/service.yaml:6:1: error: service/inference-api selects "
                            "app=inference-api,tier=backend"), first
    assert "inference-api/templates/deployment.yaml:12" in result.stdout

    fixed = helm(cluster, binary, namespace, tmp_path, "upgrade", "--install", RELEASE, str(CHART), "-f",
                 str(FIXED), "--timeout", "3m", "--wait")
    assert fixed.returncode == 0, fixed.stderr
    result, _ = verify(cluster, namespace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"helm release {RELEASE} revision 2" in gate(cluster, "verify", "--helm-release", RELEASE, "-n",
                                                        namespace, "-v").stdout


@pytest.mark.timing
@pytest.mark.parametrize(("binary", "driver"), [("helm", "secret"), ("helm4", "configmap")])
def test_a_release_whose_upgrade_failed_is_reported_as_failed(cluster: E2ECluster, namespace: str, tmp_path: Path,
                                                              binary: str, driver: str) -> None:
    installed = helm(cluster, binary, namespace, tmp_path, "upgrade", "--install", RELEASE, str(CHART), "-f",
                     str(FIXED), "--timeout", "3m", "--wait", driver=driver)
    assert installed.returncode == 0, installed.stderr
    assert verify(cluster, namespace, driver)[0].returncode == 0
    # A label value the API server refuses: the upgrade fails and Helm records revision 2 as failed.
    upgraded = helm(cluster, binary, namespace, tmp_path, "upgrade", RELEASE, str(CHART), "--set",
                    "tier=not a label", driver=driver)
    assert upgraded.returncode != 0
    result, elapsed = verify(cluster, namespace, driver)
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed <= 15
    assert f'helm release {RELEASE} revision 2 is failed: Upgrade "{RELEASE}" failed' in result.stdout
