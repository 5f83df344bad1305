"""examples/flux run by Flux's own controllers: source-controller clones the incident from git's smart-HTTP server
on the node, kustomize-controller applies it, then applies the gate Job of examples/flux/gate, which it waits for.

The incident: the gate Job fails naming tier=backend, the gate's Kustomization goes Ready=False, and
`verify --flux-kustomization` as a CI step (after Flux's `reconcile` request) fails it promptly. The fix, pushed
as the next commit: both Kustomizations become Ready and verify passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.cluster import config as harness
from tests.cluster import flux, processes
from tests.testing.e2e import CLEANUP_LABEL, E2ECluster, ExampleSite, gate, wait_for
from tests.testing.git_http import serving

FLUX_NAMESPACE = "flux-system"  # the examples' namespace, as `flux bootstrap` makes it
APP, GATE = "inference-platform", "deploy-gate"  # the Kustomizations of examples/flux/kustomizations.yaml
IDENTITY = ["-c", "user.name=deploy-gate tests", "-c", "user.email=tests@deploy-gate.invalid"]
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"  # what `flux reconcile` sets


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=directory, capture_output=True, text=True,
                          check=True).stdout.strip()


@dataclass
class Repository:
    """The application's repository as examples/flux lays it out: deploy/app and deploy/gate, pushed to the
    bare repository that the smart-HTTP server serves."""

    work: Path
    url: str

    def push(self, manifests: Path, message: str) -> str:
        """Commit the example's manifests (its namespace is the test's) as deploy/app; push; the commit."""
        app = self.work / "deploy" / "app"
        shutil.rmtree(app, ignore_errors=True)
        shutil.copytree(manifests, app, ignore=shutil.ignore_patterns("00-namespace.yaml"))
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture
def repository(site: ExampleSite, tmp_path: Path) -> Iterator[Repository]:
    served = tmp_path / "served"
    bare = served / f"{APP}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    shutil.copytree(site.examples / "flux" / "gate", work / "deploy" / "gate")
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", str(bare))
    with serving(served) as server:
        yield Repository(work, server.url(f"{APP}.git"))


@pytest.fixture
def flux_controllers(cluster: E2ECluster, site: ExampleSite) -> Iterator[None]:
    """Flux's CRDs, its namespace and both controllers; afterwards the Kustomizations are deleted while the
    controllers run (they prune what they applied and drop their finalizers), then everything else."""
    crds = flux.crd_files()
    names = [yaml.safe_load(crd.read_text())["metadata"]["name"] for crd in crds]
    present = cluster.kubectl("get", f"namespace/{FLUX_NAMESPACE}", *[f"crd/{name}" for name in names],
                              "--ignore-not-found", "-o", "name").stdout.split()
    if present:  # someone's Flux (KUBECONFIG names another cluster): never touch it
        pytest.skip(f"Flux is installed on this cluster already ({', '.join(present)}); the test runs its own")
    for crd in crds:
        cluster.kubectl("apply", "--server-side", "-f", str(crd))
    cluster.kubectl("wait", "--for=condition=Established", *[f"crd/{name}" for name in names], "--timeout=60s")
    cluster.kubectl("create", "namespace", FLUX_NAMESPACE)
    cluster.kubectl("label", "namespace", FLUX_NAMESPACE, f"{CLEANUP_LABEL}=true")
    storage = harness.STATE_DIR / "flux-artifacts"
    flux.start(cluster.kubeconfig, FLUX_NAMESPACE, storage)
    try:
        yield
    finally:
        cluster.kubectl("-n", FLUX_NAMESPACE, "delete", "kustomizations.kustomize.toolkit.fluxcd.io", "--all",
                        "--wait=true", "--timeout=120s", check=False)
        cluster.kubectl("-n", FLUX_NAMESPACE, "delete", "gitrepositories.source.toolkit.fluxcd.io", "--all",
                        "--wait=true", "--timeout=60s", check=False)
        flux.stop()
        cluster.kubectl("delete", "namespace", FLUX_NAMESPACE, "--wait=true", "--timeout=120s", check=False)
        cluster.kubectl("delete", *[f"crd/{name}" for name in names], "--wait=true", "--timeout=120s", check=False)
        shutil.rmtree(storage, ignore_errors=True)
        left = cluster.kubectl("get", f"namespace/{FLUX_NAMESPACE}", *[f"crd/{name}" for name in names],
                               "--ignore-not-found", "-o", "name").stdout
        assert not left.strip() and not any(map(processes.running_pid, map(flux.process_name, flux.CONTROLLERS))), \
            f"left behind: {left}"


def get(cluster: E2ECluster, resource: str, name: str, namespace: str = FLUX_NAMESPACE) -> dict:
    found = cluster.kubectl("-n", namespace, "get", resource, name, "-o", "json", "--ignore-not-found").stdout
    return json.loads(found) if found.strip() else {}


def ready(kustomization: dict) -> dict:
    return next((c for c in kustomization.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})


def wait_for_kustomization(cluster: E2ECluster, name: str, status: str, commit: str, timeout: float = 240) -> dict:
    """Wait until the Kustomization's Ready is `status` for the revision of `commit`; the Kustomization."""
    seen: dict = {}

    def decided() -> bool:
        assert flux.running(), f"a Flux controller exited:\n{flux.log_tail()}"
        seen.update(get(cluster, "kustomizations.kustomize.toolkit.fluxcd.io", name))
        revision = seen.get("status", {}).get("lastAttemptedRevision", "")
        return ready(seen).get("status") == status and revision.endswith(commit)

    try:
        wait_for(f"Kustomization {name} Ready={status} at {commit[:8]}", decided, timeout, interval=1)
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}: {ready(seen)}\n{flux.log_tail()}") from None
    return seen


def request_reconcile(cluster: E2ECluster, resource: str, name: str) -> str:
    """What `flux reconcile` does: annotate, then wait until the controller says it handled that request."""
    stamp = datetime.now(UTC).isoformat()
    cluster.kubectl("-n", FLUX_NAMESPACE, "annotate", "--overwrite", resource, name, f"{REQUESTED_AT}={stamp}")
    wait_for(f"{resource} {name} to handle the reconcile request", lambda: get(cluster, resource, name).get(
        "status", {}).get("lastHandledReconcileAt") == stamp, timeout=120, interval=0.2)
    return stamp


def gate_job(site: ExampleSite) -> tuple[str, str]:
    """The gate Job's outcome (Complete|Failed, once it ended) and its log."""
    job = get(site.cluster, "job", GATE, site.namespace)
    ended = [c["type"] for c in job.get("status", {}).get("conditions", [])
             if c["type"] in ("Complete", "Failed") and c["status"] == "True"]
    logs = site.kubectl("logs", f"job/{GATE}", check=False).stdout if ended else ""
    return (ended[0] if ended else ""), logs


def apply_flux_objects(site: ExampleSite, url: str) -> None:
    """A GitRepository for the served repository and examples/flux/kustomizations.yaml as it is (but for the
    namespace: the site's)."""
    cluster = site.cluster
    source = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
              "metadata": {"name": APP, "namespace": FLUX_NAMESPACE},
              "spec": {"interval": "10m", "url": url, "ref": {"branch": "main"}, "timeout": "30s"}}
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(source))
    cluster.kubectl("apply", "-f", str(site.examples / "flux" / "kustomizations.yaml"))


def ci_verify(cluster: E2ECluster) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CI step of docs/pipelines.md: reconcile the application's Kustomization, then verify; the verdict's
    time counted from the moment its inventory is readable (the request handled)."""
    request_reconcile(cluster, "kustomizations.kustomize.toolkit.fluxcd.io", APP)
    started = time.monotonic()
    result = gate(cluster, "verify", "--flux-kustomization", APP, "--flux-namespace", FLUX_NAMESPACE)
    return result, time.monotonic() - started


@pytest.mark.timing
def test_flux_gate_job_fails_the_incident_and_passes_the_pushed_fix(site: ExampleSite, repository: Repository,
                                                                    flux_controllers: None) -> None:
    cluster = site.cluster
    incident = repository.push(site.examples / "incident-scenario-2" / "manifests", "the incident")
    apply_flux_objects(site, repository.url)

    wait_for_kustomization(cluster, APP, "True", incident)  # no wait: Flux applies the incident happily
    gated = wait_for_kustomization(cluster, GATE, "False", incident)
    assert ready(gated)["reason"] == "HealthCheckFailed", ready(gated)
    assert f"Job/{site.namespace}/{GATE}" in ready(gated)["message"], ready(gated)
    ended, logs = gate_job(site)
    assert ended == "Failed", logs
    assert "tier=backend" in logs and "kubectl patch deployment inference-api" in logs, logs  # cause and fix
    # At once: Flux's own kinds in the namespace (unreadable to the Job) are no pod source to wait for.
    assert "waited for the endpoints deadline" not in logs and "not readable" not in logs, logs

    result, elapsed = ci_verify(cluster)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tier=backend" in result.stdout and "kubectl patch deployment inference-api" in result.stdout, result.stdout
    assert elapsed <= 2, f"the verdict took {elapsed:.2f} s"

    fixed = repository.push(site.examples / "incident-scenario-2-fixed" / "manifests", "the fix")
    # The failed Job would be gone after its ttlSecondsAfterFinished (90 s) and the retry (2 m): delete it now.
    site.kubectl("delete", "job", GATE, "--wait=true")
    request_reconcile(cluster, "gitrepositories.source.toolkit.fluxcd.io", APP)
    wait_for_kustomization(cluster, APP, "True", fixed)
    request_reconcile(cluster, "kustomizations.kustomize.toolkit.fluxcd.io", GATE)
    wait_for_kustomization(cluster, GATE, "True", fixed)
    ended, logs = gate_job(site)
    assert ended == "Complete", logs

    result, _ = ci_verify(cluster)
    assert result.returncode == 0, result.stdout + result.stderr
