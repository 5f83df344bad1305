"""verify --flux-helmrelease: wait until helm-controller has decided the HelmRelease, then verify the objects of
the Helm release it made, read from Helm's Secret storage as --helm-release reads it.

The HelmReleases here are written after helm-controller's v2 API (api/v2/helmrelease_types.go: spec.releaseName,
targetNamespace, storageNamespace; status.storageNamespace and status.history, newest snapshot first) and its
release.ShortenName (a name longer than 53 characters: its first 40, '-', 12 hex digits of its sha256).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from click.testing import CliRunner

import gate.cluster
from gate.cli import main
from gate.errors import UsageError
from gate.findings import Outcome
from gate.flux import HELMRELEASES, helmrelease_resources, release_of, shortened
from gate.kinds import Resource
from gate.objects import ObjectRef
from gate.schema import MalformedObject
from tests.testing.helm_records import NS, StorageCluster, record, release


def helmrelease(ready: str | None = "True", reason: str = "UpgradeSucceeded", message: str = "",
                generation: int = 1, observed: int = 1, history: Any = None, **spec: Any) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": reason,
                                             "message": message or "Helm upgrade succeeded for release shop/web.v2",
                                             "observedGeneration": observed}]
    snapshots = [{"name": "web", "namespace": NS, "version": 2, "status": "deployed", "chartName": "web"}] \
        if history is None else history
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": NS, "generation": generation},
            "spec": {"interval": "5m", "chart": {"spec": {"chart": "web"}}, **spec},
            "status": {"conditions": conditions, "history": snapshots}}


class HelmReleaseCluster(StorageCluster):
    """Answers each read of the HelmRelease with the next of `states` (the last from then on); lists the Helm
    records it holds."""

    def __init__(self, *states: Any, records: tuple[dict[str, Any], ...] = ()) -> None:
        super().__init__(*records)
        self.states, self.reads, self.bounds = list(states), 0, []

    def resource_for(self, kind: str, api_version: str, where: str) -> None:
        pass

    def bound(self, deadline: float | None) -> None:
        self.bounds.append(deadline)

    def get(self, resource: Resource, namespace: str, name: str) -> Any:
        assert (resource, namespace, name) == (HELMRELEASES, NS, "web")
        self.reads += 1
        return self.states[min(self.reads, len(self.states)) - 1]


def resources(cluster: HelmReleaseCluster, seconds: float = 60.0) -> tuple[list[Any], list[Any], list[float]]:
    slept: list[float] = []
    touched, findings, _, _ = helmrelease_resources(cluster, "web", NS, time.monotonic() + seconds,  # type: ignore[arg-type]
                                                 sleep=slept.append)
    return touched, findings, slept


def test_a_ready_helmrelease_gives_the_objects_of_its_latest_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELM_DRIVER", "configmap")  # helm-controller stores in Secrets whatever this says
    cluster = HelmReleaseCluster(helmrelease(), records=(record(release(1, "superseded")), record(release(2))))
    touched, findings, slept = resources(cluster)
    assert [t.ref for t in touched] == [ObjectRef("Service", NS, "web"),
                                        ObjectRef("Deployment", "other", "web", "apps")]
    assert [(f.rule, f.outcome) for f in findings] == [("flux-helmrelease", Outcome.PASSED),
                                                       ("helm-release", Outcome.PASSED)]
    assert findings[0].message == "helmrelease/web in namespace shop: Ready: Helm upgrade succeeded for release " \
                                  "shop/web.v2"
    assert cluster.asked == [("Secret", NS, "owner=helm,name=web")] and slept == []


@pytest.mark.parametrize("pending", [
    helmrelease(ready=None, history=[]),  # just created
    helmrelease(ready="Unknown", reason="Progressing", message="Running 'upgrade' action with timeout of 5m0s"),
    helmrelease(generation=2, observed=1),  # a new spec not reconciled yet
    helmrelease(ready="False", reason="DependencyNotReady", message="dependency 'shop/db' is not ready"),
])
def test_the_gate_waits_until_helm_controller_has_decided(pending: dict[str, Any]) -> None:
    cluster = HelmReleaseCluster(pending, pending, helmrelease(generation=2, observed=2),
                                 records=(record(release(2)),))
    touched, findings, slept = resources(cluster)
    assert cluster.reads == 3 and slept == [1.0, 1.0] and len(touched) == 2
    assert findings[0].outcome is Outcome.PASSED and cluster.bounds[-1] is None


def test_a_failed_upgrade_is_a_failed_check_in_fluxs_and_helms_words() -> None:
    message = "Helm upgrade failed for release shop/web with chart web@1.2.0: context deadline exceeded"
    cluster = HelmReleaseCluster(helmrelease(ready="False", reason="UpgradeFailed", message=message),
                                 records=(record(release(2)), record(release(3, "failed", "Upgrade failed"))))
    touched, findings, slept = resources(cluster)
    assert touched == [] and slept == []  # Helm says the revision failed: its objects are not what was asked
    assert [(f.rule, f.outcome) for f in findings] == [("flux-helmrelease", Outcome.FAILED),
                                                       ("helm-release", Outcome.FAILED)]
    assert findings[0].message == f"helmrelease/web in namespace shop: not Ready (UpgradeFailed): {message}"
    assert findings[1].message == "helm release web revision 3 is failed: Upgrade failed"


def test_a_failed_install_before_any_release_is_fluxs_verdict_alone() -> None:
    touched, findings, _ = resources(HelmReleaseCluster(helmrelease(
        ready="False", reason="ArtifactFailed", message="HelmChart 'shop/shop-web' is not ready", history=[])))
    assert touched == [] and [f.outcome for f in findings] == [Outcome.FAILED]
    assert findings[0].message.endswith("not Ready (ArtifactFailed): HelmChart 'shop/shop-web' is not ready")


def test_not_decided_by_the_rollout_deadline_is_a_failed_check_saying_why() -> None:
    _, findings, _ = resources(HelmReleaseCluster(helmrelease(ready="Unknown", reason="Progressing",
                                                              message="Running 'install' action")), seconds=0.5)
    assert findings[0].outcome is Outcome.FAILED
    assert findings[0].message == ("helmrelease/web in namespace shop: not applied within the rollout deadline: "
                                   "Ready is Unknown: Running 'install' action")


def test_a_ready_helmrelease_without_a_stored_release_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="is Ready but Helm stores no release 'web' in namespace shop"):
        resources(HelmReleaseCluster(helmrelease()))


@pytest.mark.parametrize(("helm_release", "expected"), [
    (helmrelease(), ("web", NS)),  # the controller's own record of its release
    (helmrelease(history=[], targetNamespace="prod"), ("prod-web", NS)),  # '[targetNamespace-]name', stored here
    (helmrelease(history=[], releaseName="storefront", storageNamespace="helm"), ("storefront", "helm")),
    (helmrelease(history=[], targetNamespace="a-rather-long-target-namespace-for-the-shop-team-x"),
     ("a-rather-long-target-namespace-for-the-s-798b6bdfb9b7", NS)),  # 54 characters, shortened
])
def test_the_release_name_and_storage_namespace_as_helm_controller_computes_them(
        helm_release: dict[str, Any], expected: tuple[str, str]) -> None:
    assert release_of(helm_release) == expected


def test_status_storage_namespace_is_the_controllers_word() -> None:
    moved = helmrelease(storageNamespace="helm")
    moved["status"]["storageNamespace"] = "flux-system"
    assert release_of(moved) == ("web", "flux-system")


def test_a_long_release_name_is_shortened_to_helms_limit() -> None:
    name = "x" * 60
    assert len(shortened(name)) == 53 and shortened(name).startswith("x" * 40 + "-")
    assert re.fullmatch(r"[0-9a-f]{12}", shortened(name)[41:]) and shortened("web") == "web"


@pytest.mark.parametrize(("change", "field"), [
    (lambda h: h["status"]["history"][0].update(name="Web!"), "status.history[0].name"),
    (lambda h: h["status"].update(storageNamespace="../secrets"), "status.storageNamespace"),
    (lambda h: h["spec"].update(releaseName=5), "spec.releaseName"),
    (lambda h: h["status"].update(history={"name": "web"}), "status.history"),
])
def test_a_malformed_helmrelease_cannot_be_verified(change: Any, field: str) -> None:
    broken = helmrelease()
    change(broken)
    with pytest.raises(MalformedObject, match=re.escape(f"helmrelease/web in namespace shop: {field}")):
        resources(HelmReleaseCluster(broken, records=(record(release(2)),)))


class CommandCluster(HelmReleaseCluster):
    """The cluster `verify` opens (no --timeout)."""

    namespace = NS


def test_verify_flux_helmrelease_of_a_failed_upgrade_exits_1_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = CommandCluster(helmrelease(ready="False", reason="UpgradeFailed", message="Helm upgrade failed"),
                             records=(record(release(3, "failed", "Upgrade \"web\" failed: timed out")),))
    monkeypatch.setattr(gate.cluster, "Cluster", cluster)
    result = CliRunner().invoke(main, ["verify", "--flux-helmrelease", "web", "--flux-namespace", NS])
    assert result.exit_code == 1, result.output
    assert "helmrelease/web in namespace shop: not Ready (UpgradeFailed): Helm upgrade failed" in result.output
    assert 'helm release web revision 3 is failed: Upgrade "web" failed: timed out' in result.output
    assert cluster.reads == 1  # Helm says the revision failed: nothing else is read
