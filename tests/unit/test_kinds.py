"""The kind table (gate/kinds.py): one spec per (group, kind), consistent, and a custom workload kind in one entry.

Argo Rollouts' `Rollout` is the worked example: its status rule, its owner chain (Rollout -> ReplicaSet -> Pod) for
verify's explaining lists, its controller's pod label for lint, and its group kept out of the built-in ones.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gate import schema
from gate.findings import Outcome
from gate.kinds import (
    BUILTIN_GROUPS,
    BUILTIN_KINDS,
    KINDS,
    OWNED_IN_TURN,
    Resource,
    is_builtin,
    kind_named,
    may_create_pods,
    may_create_pods_with,
    spec_for,
    unknown_kind_problem,
)
from gate.objects import ObjectRef, ref_of, template_path
from gate.status import Status, compute
from gate.status import kinds as rules
from gate.verify.checks import rollout_verdict, workload_pods
from gate.verify.engine import Touched, plan_checks, watched_resources
from gate.verify.snapshot import Snapshot
from tests.testing.real_world import deployment, errors, lint_set, rule, service

ROLLOUTS = "argoproj.io/v1alpha1"
NS = "shop"
NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


# --- the table is consistent ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", KINDS.values(), ids=lambda spec: f"{spec.resource.group or 'core'}/{spec.name}")
def test_every_spec_points_at_what_exists(spec: Any) -> None:
    assert KINDS[spec.key] is spec
    if spec.rule is not None:
        assert inspect.isfunction(getattr(rules, spec.rule, None)), f"no rule {spec.rule} in gate.status.kinds"
    assert spec.schema is None or spec.schema in schema.SCHEMAS
    assert spec.live_schema is None or spec.live_schema in schema.LIVE_SCHEMAS
    for key in (*spec.reads, *([spec.owns] if spec.owns else [])):
        assert key in KINDS, f"{spec.name} names {key}, which has no spec"
    if spec.owns is not None:  # the owner chain ends in pods: the owned kind runs them, and verify reads both
        assert KINDS[spec.owns].template is not None and {spec.owns, ("", "Pod")} <= set(spec.reads)
    assert spec.revision_annotation is None or spec.owns is not None
    assert spec.selector in (None, "LabelSelector", "labels")
    assert spec.selects in (None, "pods", "Services")
    if spec.custom:
        assert spec.resource.group not in BUILTIN_GROUPS and not is_builtin(spec.resource.api_version)
        assert kind_named(spec.name) != spec.name or spec.name in BUILTIN_KINDS
    else:
        assert spec.creates_pods and spec.provisioned is None and spec.foreign_policy is None


def test_every_rule_and_shape_is_some_kinds() -> None:
    named = {spec.rule for spec in KINDS.values()}
    written = {name for name, value in vars(rules).items()
               if inspect.isfunction(value) and value.__module__ == rules.__name__ and not name.startswith("_")}
    assert written <= named, f"rules no kind names: {written - named}"
    assert set(schema.SCHEMAS) <= {spec.schema for spec in KINDS.values()}
    assert set(schema.LIVE_SCHEMAS) <= {spec.live_schema for spec in KINDS.values()}
    assert {("apps", "ReplicaSet"), ("batch", "Job")} == OWNED_IN_TURN


# --- one name, two groups: two kinds ---------------------------------------------------------------------------


def _obj(api_version: str, kind: str, name: str = "edge", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}


def test_istio_gateway_and_gateway_api_gateway_are_two_kinds() -> None:
    istio, gateway_api = _obj("networking.istio.io/v1", "Gateway"), _obj("gateway.networking.k8s.io/v1", "Gateway")
    assert ref_of(istio) != ref_of(gateway_api)
    assert (ref_of(istio).group, ref_of(gateway_api).group) == ("networking.istio.io", "gateway.networking.k8s.io")
    assert spec_for("Gateway", "networking.istio.io/v1") is None
    assert spec_for("Gateway", "gateway.networking.k8s.io/v1") is KINDS[("gateway.networking.k8s.io", "Gateway")]
    # Istio's configures gateway pods deployed otherwise; the Gateway API's gets pods for its own labels only.
    asks = {"gateway.networking.k8s.io/gateway-name"}
    assert not may_create_pods_with("networking.istio.io/v1", "Gateway", asks, set())
    assert may_create_pods_with("gateway.networking.k8s.io/v1", "Gateway", asks, set())
    assert not may_create_pods_with("gateway.networking.k8s.io/v1", "Gateway", {"tier"}, set())


def test_batch_job_and_volcano_job_are_two_kinds() -> None:
    status = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    batch = {**_obj("batch/v1", "Job", template={"spec": {"containers": []}}), "status": status}
    volcano = {**_obj("batch.volcano.sh/v1alpha1", "Job", tasks=[{"replicas": 1}]),
               "status": {"state": {"phase": "Running"}}}
    assert ref_of(batch) != ref_of(volcano) and ref_of(volcano).group == "batch.volcano.sh"
    assert ref_of(volcano).spec is None and ref_of(batch).spec is KINDS[("batch", "Job")]
    assert compute(batch).status is Status.CURRENT and compute(batch).message.startswith("Complete")
    # batch's Job rule would call it "succeeded: 0, active: 0": Volcano's is judged by the generic conditions.
    assert compute(volcano).message == "exists"
    assert template_path(batch) == ("spec", "template") and template_path(volcano) is None
    assert may_create_pods("batch.volcano.sh/v1alpha1", "Job") and not may_create_pods("batch/v1", "Job")


def test_calico_network_policy_is_not_the_built_in_one() -> None:
    calico = ref_of(_obj("crd.projectcalico.org/v1", "NetworkPolicy"))
    assert calico.spec is KINDS[("crd.projectcalico.org", "NetworkPolicy")] and calico.spec.foreign_policy
    assert ref_of(_obj("networking.k8s.io/v1", "NetworkPolicy")).spec is BUILTIN_KINDS["NetworkPolicy"]


# --- Argo Rollouts' Rollout: one entry ------------------------------------------------------------------------


def test_a_custom_kinds_entry_never_makes_its_group_built_in() -> None:
    assert not is_builtin(ROLLOUTS) and "argoproj.io" not in BUILTIN_GROUPS
    assert kind_named("rollout") is None and kind_named("ro") is None  # user input: built-in kinds only
    assert unknown_kind_problem(ROLLOUTS, "Rollout", set()) is None
    assert unknown_kind_problem("argoproj.io/v1alpha1", "NoSuchKind", set()) is None  # a CRD may define it


def rollout(phase: str | None, generation: int = 2, observed: str = "2", replicas: int = 3, updated: int = 3,
            available: int = 3, **status: Any) -> dict[str, Any]:
    return {"apiVersion": ROLLOUTS, "kind": "Rollout",
            "metadata": {"name": "checkout", "namespace": NS, "uid": "ro1", "generation": generation,
                         "annotations": {"rollout.argoproj.io/revision": "2"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "checkout"}},
                     "template": {"metadata": {"labels": {"app": "checkout"}}, "spec": {"containers": []}}},
            "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
                       "readyReplicas": available, "availableReplicas": available,
                       **({"phase": phase} if phase else {}), **status}}


@pytest.mark.parametrize(("obj", "expected", "says"), [
    (rollout("Healthy"), Status.CURRENT, "Ready: 3/3, updated: 3/3, available: 3/3"),
    (rollout("Progressing", updated=1, message="more replicas need to be updated"), Status.IN_PROGRESS,
     "updated: 1/3, available: 3/3: more replicas need to be updated"),
    (rollout("Paused", pauseConditions=[{"reason": "CanaryPauseStep"}], message="CanaryPauseStep"),
     Status.IN_PROGRESS, "paused (Ready: 3/3, updated: 3/3, available: 3/3: CanaryPauseStep; kubectl argo"),
    (rollout("Degraded", message="RolloutAborted: metric failed"), Status.FAILED, "Degraded (Ready: 3/3"),
    (rollout("Healthy", controllerPause=True), Status.IN_PROGRESS, "waiting for the rollout to unpause"),
    (rollout("Healthy", generation=3, observed="2"), Status.IN_PROGRESS,
     "controller has not observed generation 3 yet (observed 2)"),
    (rollout("Healthy", observed="6d4f8c9b7"), Status.CURRENT, "Ready: 3/3"),  # before v0.10: a hash
    (rollout(None), Status.IN_PROGRESS, "the Argo Rollouts controller has reported no phase yet"),
], ids=["healthy", "progressing", "paused-at-a-step", "degraded", "unpausing", "stale-generation", "hash-generation",
        "no-phase"])
def test_a_rollout_is_rolled_out_by_its_own_rule(obj: dict[str, Any], expected: Status, says: str) -> None:
    schema.validate_live(obj, "Rollout")  # a text observedGeneration is the Rollout's shape, not malformed
    result = compute(obj)
    assert result.status is expected and says in result.message


def test_another_groups_rollout_is_not_argos() -> None:
    other = {**rollout("Progressing"), "apiVersion": "example.com/v1"}
    assert spec_for("Rollout", "example.com/v1") is None
    with pytest.raises(schema.MalformedObject, match=r"status\.observedGeneration: expected an integer"):
        schema.validate_live(other, "Rollout")
    assert compute({**other, "status": {}}).message == "exists"


def test_the_owner_chain_finds_a_rollouts_current_pods() -> None:
    snapshot = Snapshot()
    obj = rollout("Progressing", available=0)
    snapshot.put("Rollout", NS, obj)
    for revision, uid in (("1", "rs-old"), ("2", "rs-new")):
        snapshot.put("ReplicaSet", NS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"checkout-{uid}", "namespace": NS, "uid": uid,
                         "annotations": {"rollout.argoproj.io/revision": revision},
                         "ownerReferences": [{"kind": "Rollout", "name": "checkout", "uid": "ro1",
                                              "controller": True}]}})
        snapshot.put("Pod", NS, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"checkout-{uid}-a", "namespace": NS, "uid": f"pod-{uid}",
                         "labels": {"app": "checkout"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"checkout-{uid}", "uid": uid}]},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "ready": False, "state": {
                "waiting": {"reason": "ImagePullBackOff", "message": "pull access denied"}}}]}})
    assert [p["metadata"]["name"] for p in workload_pods(obj, snapshot)] == ["checkout-rs-new-a"]
    assert len(workload_pods(obj, snapshot, current_only=False)) == 2
    verdict = rollout_verdict(obj, snapshot, NOW, timed_out=True)
    assert verdict.outcome is Outcome.FAILED and verdict.pods_to_explain == ("checkout-rs-new-a",)
    assert any("ImagePullBackOff" in line for line in verdict.evidence)


class RolloutsServed:
    def resource_for(self, kind: str, api_version: str, where: str = "") -> Resource:
        return spec_for(kind, api_version).resource  # type: ignore[union-attr]


def test_verify_checks_a_rollout_and_lists_its_replicasets_and_pods_to_explain_it() -> None:
    touched = [Touched(ref_of(rollout("Healthy"), NS), ROLLOUTS)]
    assert touched[0].ref == ObjectRef("Rollout", NS, "checkout", "argoproj.io")
    [check] = plan_checks(touched)
    assert check.title == "checkout rolled out"
    deciding, explaining = watched_resources(RolloutsServed(), touched, [check])  # type: ignore[arg-type]
    assert {(r.kind, r.group) for r, _ in deciding} == {("Rollout", "argoproj.io")}
    assert {(r.kind, r.group) for r, _ in explaining} == {("ReplicaSet", "apps"), ("Pod", "")}


def test_lint_knows_the_rollout_controllers_pod_label(tmp_path: Path) -> None:
    # Argo's blue-green and canary Services select the pod hash label its controller adds to every pod.
    ro = deployment("checkout", {"app": "checkout"}, kind="Rollout", api_version=ROLLOUTS)
    preview = service("checkout-preview", {"app": "checkout", "rollouts-pod-template-hash": "6f7b9c"})
    findings = lint_set(tmp_path, [ro, preview])
    assert errors(findings) == []
    [selects] = rule(findings, "service-selector")
    assert selects.outcome is not Outcome.FAILED, selects.message


def test_lint_still_checks_a_rollouts_selector_against_its_template(tmp_path: Path) -> None:
    ro = deployment("checkout", {"app": "checkout"}, kind="Rollout", api_version=ROLLOUTS)
    ro["spec"]["selector"] = {"matchLabel": {"app": "checkout"}}
    with pytest.raises(Exception, match="matchLabel"):
        lint_set(tmp_path, [ro])
