"""verify's pure checks over a snapshot: endpoint diagnosis in an engineer's order, and rollout fail-fast."""

from __future__ import annotations

from datetime import UTC, datetime

from gate.findings import Outcome, Phase
from gate.objects import ObjectRef, dig
from gate.verify.checks import PENDING, Check, Context, endpoints_verdict, evaluate, rollout_verdict, settled_namespaces
from gate.verify.engine import at_deadline
from gate.verify.snapshot import Snapshot, owner_chain

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
NS = "video-analytics"
SERVICE_REF = ObjectRef("Service", NS, "inference-api")


def service(selector: dict | None = None, target: object = 8080, kind: str | None = None) -> dict:
    spec: dict = {"ports": [{"name": "http", "port": 8080, "targetPort": target}]}
    if selector is not None:
        spec["selector"] = selector
    if kind:
        spec["type"] = kind
    return {"kind": "Service", "metadata": {"name": "inference-api", "namespace": NS}, "spec": spec}


def snapshot_with(pod_labels: dict, ready: bool = True, replicas: int = 3, slices: list | None = None,
                  ports: list | None = None) -> Snapshot:
    snapshot = Snapshot()
    deployment = {"kind": "Deployment", "metadata": {"name": "inference-api", "namespace": NS, "uid": "d1",
                                                      "annotations": {"deployment.kubernetes.io/revision": "1"}},
                  "spec": {"replicas": replicas, "template": {"metadata": {"labels": pod_labels}}}}
    replicaset = {"kind": "ReplicaSet", "metadata": {"name": "inference-api-abc", "namespace": NS, "uid": "r1",
                                                      "annotations": {"deployment.kubernetes.io/revision": "1"},
                                                      "ownerReferences": [{"kind": "Deployment",
                                                                           "name": "inference-api", "uid": "d1"}]}}
    snapshot.put("Deployment", NS, deployment)
    snapshot.put("ReplicaSet", NS, replicaset)
    for index in range(replicas):
        name = f"inference-api-abc-{index}"
        snapshot.put("Pod", NS, {
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": pod_labels, "uid": f"p{index}",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "inference-api-abc", "uid": "r1"}]},
            "spec": {"containers": [{"name": "api", "ports": ports or [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "api", "ready": ready, "state": {"running": {}}}]},
        })
    for index, endpoint_slice in enumerate(slices or []):
        snapshot.put("EndpointSlice", NS, {**endpoint_slice, "metadata": {
            **endpoint_slice["metadata"], "name": f"slice-{index}"}})
    return snapshot


def slice_with(ready: int, not_ready: int = 0) -> dict:
    endpoints = [{"addresses": [f"10.0.0.{i}"], "conditions": {"ready": True}} for i in range(ready)]
    endpoints += [{"addresses": [f"10.0.1.{i}"], "conditions": {"ready": False}} for i in range(not_ready)]
    return {"kind": "EndpointSlice", "metadata": {"labels": {"kubernetes.io/service-name": "inference-api"}},
            "ports": [{"name": "http", "port": 8080}], "endpoints": endpoints}


def verdict(svc: dict | None, snapshot: Snapshot, settled: bool = True, timed_out: bool = False,
            wait_full: bool = False):
    workload = ObjectRef("Deployment", NS, "inference-api")
    return at_deadline(endpoints_verdict(svc, SERVICE_REF, snapshot, touched={workload},
                                         locations={workload: "deploy.yaml:14"}, workloads_settled=settled),
                       timed_out, wait_full)


def test_ready_endpoints_pass() -> None:
    result = verdict(service({"app": "inference-api"}), snapshot_with({"app": "inference-api"},
                                                                      slices=[slice_with(3)]))
    assert result.outcome is Outcome.PASSED and "3 ready endpoint(s)" in result.message


def test_incident_selector_gap_is_definitive_once_the_templates_are_observed() -> None:
    svc = service({"app": "inference-api", "tier": "backend"})
    snapshot = snapshot_with({"app": "inference-api"}, slices=[slice_with(0)])
    result = verdict(svc, snapshot)
    assert result.outcome is Outcome.FAILED
    assert result.message == ("service/inference-api selects app=inference-api,tier=backend; "
                              "pods of deployment/inference-api (3 running) lack tier=backend")
    assert result.fix_location == "deploy.yaml:14"
    assert '"path":"/spec/template/metadata/labels/tier","value":"backend"' in result.fix[0]
    assert verdict(svc, snapshot, settled=False).outcome is PENDING
    assert verdict(svc, snapshot, wait_full=True).outcome is PENDING
    assert verdict(svc, snapshot, wait_full=True, timed_out=True).outcome is Outcome.FAILED


def test_a_namespace_is_settled_once_its_touched_workloads_exist_observed_or_not() -> None:
    """The live template decides what pods will come; a controller still behind (observedGeneration 1 of 2) does
    not delay the incident's verdict, a touched workload that does not exist yet does."""
    snapshot = snapshot_with({"app": "inference-api"})
    snapshot.put("Deployment", NS, {"kind": "Deployment", "metadata": {"name": "inference-api", "namespace": NS,
                                                                       "generation": 2},
                                    "spec": {"template": {"metadata": {"labels": {"app": "inference-api"}}}},
                                    "status": {"observedGeneration": 1}})
    touched = {ObjectRef("Deployment", NS, "inference-api"), SERVICE_REF}
    assert settled_namespaces(touched, snapshot) == {NS}
    assert settled_namespaces(touched | {ObjectRef("StatefulSet", NS, "cache")}, snapshot) == set()


def test_pods_match_but_none_ready() -> None:
    result = verdict(service({"app": "inference-api"}), snapshot_with({"app": "inference-api"}, ready=False,
                                                                      slices=[slice_with(0, 3)]), timed_out=True)
    assert result.outcome is Outcome.FAILED and "3 pod(s) match app=inference-api but none is Ready" in result.message
    assert "readiness probe failing" in result.evidence[0]


def test_named_target_port_missing_is_definitive() -> None:
    result = verdict(service({"app": "inference-api"}, target="grpc"), snapshot_with({"app": "inference-api"}))
    assert result.outcome is Outcome.FAILED and "targetPort 'grpc' of port http (8080/TCP) names no container port" \
        in result.message


def test_special_services() -> None:
    assert verdict(service(kind="ExternalName"), Snapshot()).outcome is Outcome.PASSED
    assert verdict(service(None), Snapshot()).outcome is PENDING
    manual = Snapshot()
    manual.put("EndpointSlice", NS, slice_with(1))
    assert verdict(service(None), manual).outcome is Outcome.PASSED
    assert verdict(service({"app": "inference-api"}), snapshot_with({"app": "inference-api"}, replicas=0)
                   ).outcome is Outcome.PASSED
    assert verdict(None, Snapshot(), timed_out=True).outcome is Outcome.FAILED


def test_rollout_fails_fast_on_crash_loop_pod() -> None:
    snapshot = snapshot_with({"app": "inference-api"})
    pod = snapshot.get("Pod", NS, "inference-api-abc-0")
    pod["status"]["containerStatuses"] = [{"name": "api", "restartCount": 2, "state": {"waiting": {
        "reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]
    pod["status"]["startTime"] = "2026-11-26T11:59:00Z"
    deployment = snapshot.get("Deployment", NS, "inference-api")
    deployment["status"] = {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}
    result = rollout_verdict(deployment, snapshot, NOW, timed_out=False)
    assert result.outcome is Outcome.FAILED
    assert result.message.startswith("pod/inference-api-abc-0 container api: CrashLoopBackOff")
    assert result.pods_to_explain == ("inference-api-abc-0",)


def test_rollout_deadline_fails_what_is_still_in_progress() -> None:
    deployment = {"kind": "Deployment", "spec": {"replicas": 2}, "metadata": {"uid": "x"},
                  "status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}}
    assert rollout_verdict(deployment, Snapshot(), NOW, timed_out=False).outcome is PENDING
    result = rollout_verdict(deployment, Snapshot(), NOW, timed_out=True)
    assert result.outcome is Outcome.FAILED and result.message == "timed out: Ready: 1/2, updated: 2/2, available: 1/2"


def test_selector_gap_waits_while_a_matching_template_exists() -> None:
    svc = service({"app": "inference-api", "tier": "backend"})
    snapshot = snapshot_with({"app": "inference-api"}, slices=[slice_with(0)])
    fixed = snapshot.get("Deployment", NS, "inference-api")
    fixed["spec"]["template"]["metadata"]["labels"] = {"app": "inference-api", "tier": "backend"}
    assert verdict(svc, snapshot).outcome is PENDING  # the new pods will match: wait for them


def owned(name: str, owner_uid: str | None, service: str | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": NS}
    if owner_uid:
        metadata["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": owner_uid}]
    if service:
        metadata["labels"] = {"kubernetes.io/service-name": service}
    return {"metadata": metadata}


def test_snapshot_indexes_follow_every_change() -> None:
    """owned_by and slices_of answer from indexes; a replaced, removed or relisted object leaves no stale entry."""
    snapshot = Snapshot()
    snapshot.put("Pod", NS, owned("a", "r1"))
    snapshot.put("Pod", NS, owned("b", "r1"))
    assert [p["metadata"]["name"] for p in snapshot.owned_by("Pod", NS, "r1")] == ["a", "b"]
    snapshot.put("Pod", NS, owned("a", "r2"))  # adopted by another owner
    assert [p["metadata"]["name"] for p in snapshot.owned_by("Pod", NS, "r1")] == ["b"]
    assert [p["metadata"]["name"] for p in snapshot.owned_by("Pod", NS, "r2")] == ["a"]
    assert snapshot.owned_by("Pod", "elsewhere", "r2") == [] and snapshot.owned_by("ReplicaSet", NS, "r2") == []
    snapshot.remove("Pod", NS, "b")
    assert snapshot.owned_by("Pod", NS, "r1") == [] and snapshot.get("Pod", NS, "b") is None
    snapshot.put("EndpointSlice", NS, owned("s1", None, "web"))
    snapshot.put("EndpointSlice", NS, owned("s2", None, "web"))
    assert len(snapshot.slices_of(NS, "web")) == 2
    snapshot.put("EndpointSlice", NS, owned("s2", None, "api"))  # relabelled
    assert [s["metadata"]["name"] for s in snapshot.slices_of(NS, "web")] == ["s1"]
    snapshot.replace_all("EndpointSlice", NS, [owned("s3", None, "web")])  # a relist after 410 Gone
    assert [s["metadata"]["name"] for s in snapshot.slices_of(NS, "web")] == ["s3"]
    assert snapshot.slices_of(NS, "api") == [] and snapshot.of("Pod", NS) == [owned("a", "r2")]


def test_an_owner_is_found_in_its_own_group() -> None:
    """A pod's ownerReference names its owner's apiVersion: a Volcano Job's pod is not the batch Job's of that name,
    and a Deployment in extensions/v1beta1 is the apps one."""
    snapshot = Snapshot()
    for api_version, uid in (("batch/v1", "b"), ("batch.volcano.sh/v1alpha1", "v")):
        job = {"apiVersion": api_version, "kind": "Job", "metadata": {"name": "migrate", "namespace": NS, "uid": uid}}
        snapshot.put("Job", NS, job, "batch" if uid == "b" else "batch.volcano.sh")
    snapshot.put("Deployment", NS, {"kind": "Deployment", "metadata": {"name": "web", "namespace": NS, "uid": "d"}})
    pod = owned("migrate-0", None)
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
                                           "name": "migrate", "uid": "v"}]
    assert [dig(owner, "metadata", "uid") for owner in owner_chain(pod, NS, snapshot)] == ["v"]
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "extensions/v1beta1", "kind": "Deployment", "name": "web"}]
    assert [dig(owner, "metadata", "uid") for owner in owner_chain(pod, NS, snapshot)] == ["d"]
    assert snapshot.get("Job", NS, "migrate")["metadata"]["uid"] == "b"  # left out, the group is the built-in's


def test_the_old_revision_that_still_matches_is_not_a_workload_scaled_to_zero() -> None:
    """Found by running the synthetic check in the cluster: after the label is removed from the template, the
    Deployment's previous ReplicaSet keeps it, scaled to zero. It is history, not an intent to have no pods."""
    svc = service({"app": "inference-api", "tier": "backend"})
    snapshot = snapshot_with({"app": "inference-api"}, slices=[slice_with(0)])
    snapshot.put("ReplicaSet", NS, {
        "kind": "ReplicaSet",
        "metadata": {"name": "inference-api-old", "namespace": NS, "uid": "r0", "ownerReferences": [
            {"kind": "Deployment", "name": "inference-api", "uid": "d1", "controller": True}]},
        "spec": {"replicas": 0, "template": {"metadata": {"labels": {"app": "inference-api", "tier": "backend"}}}}})
    result = verdict(svc, snapshot)
    assert result.outcome is Outcome.FAILED and "lack tier=backend" in result.message, result.message
    # A ReplicaSet of its own, scaled to zero on purpose, still means no endpoints are expected.
    snapshot.put("ReplicaSet", NS, {
        "kind": "ReplicaSet", "metadata": {"name": "batch-workers", "namespace": NS, "uid": "r9"},
        "spec": {"replicas": 0, "template": {"metadata": {"labels": {"app": "inference-api", "tier": "backend"}}}}})
    assert "scaled to zero (replicaset/batch-workers)" in verdict(svc, snapshot).message


def test_selector_gap_is_not_definitive_while_something_else_may_create_the_pods() -> None:
    svc = service({"app": "widget"})
    snapshot = snapshot_with({"app": "inference-api"}, slices=[slice_with(0)])
    touched, locations = {ObjectRef("Deployment", NS, "inference-api")}, {}

    def decide(sources: tuple[str, ...] | None, timed_out: bool = False):
        return at_deadline(endpoints_verdict(svc, SERVICE_REF, snapshot, touched=touched, locations=locations,
                                             workloads_settled=True, pod_sources=sources), timed_out, False)

    assert decide(()).outcome is Outcome.FAILED  # nothing else in the namespace: final at once
    asked = decide(None)
    assert asked.outcome is PENDING and asked.needs_pod_sources  # the engine looks custom resources up first
    waiting = decide(("widget/main",))
    assert waiting.outcome is PENDING and "(waiting: pods may come from widget/main)" in waiting.message
    final = decide(("widget/main",), timed_out=True)
    assert final.outcome is Outcome.FAILED
    assert "(waited for the endpoints deadline: pods may come from widget/main)" in final.message


def test_selector_on_controller_added_labels_waits_for_the_pods() -> None:
    svc = service({"statefulset.kubernetes.io/pod-name": "inference-api-0"})
    snapshot = snapshot_with({"app": "inference-api"}, slices=[slice_with(0)])
    assert verdict(svc, snapshot).outcome is PENDING
    assert verdict(svc, snapshot, timed_out=True).outcome is Outcome.FAILED


def test_a_rollout_no_controller_acted_on_says_its_status_is_stale() -> None:
    for status, observed in (({}, "no status"), ({"observedGeneration": 1}, "observed 1")):
        deployment = {"kind": "Deployment", "spec": {"replicas": 1}, "metadata": {"uid": "x", "generation": 2},
                      "status": status}
        assert rollout_verdict(deployment, Snapshot(), NOW, timed_out=False).outcome is PENDING
        result = rollout_verdict(deployment, Snapshot(), NOW, timed_out=True)
        assert result.message == (f"timed out: controller has not observed generation 2 yet ({observed}); its status "
                                  "is stale: the controller that owns it (kube-controller-manager for built-in kinds) "
                                  "is not acting on it")


def test_evaluate_runs_each_check_over_one_snapshot_without_deadlines() -> None:
    """The pure entry point the engine calls: a verdict per check; a failure that waiting may change is not final
    until the engine's deadline policy says so."""
    snapshot = snapshot_with({"app": "inference-api"}, ready=False, slices=[slice_with(0, 3)])
    snapshot.put("Service", NS, service({"app": "inference-api"}))
    deployment = ObjectRef("Deployment", NS, "inference-api")
    checks = [Check(Phase.ROLLOUTS, deployment, "inference-api rolled out", "rollout"),
              Check(Phase.ENDPOINTS, SERVICE_REF, "inference-api has ready endpoints", "endpoints")]
    context = Context({deployment, SERVICE_REF}, {}, {NS: ()}, rollout_timed_out=False)
    rollout, endpoints = evaluate(checks, snapshot, context, NOW)
    assert rollout.outcome is PENDING
    assert endpoints.outcome is Outcome.FAILED and not endpoints.definitive
    assert "3 pod(s) match app=inference-api but none is Ready" in endpoints.message
    assert at_deadline(endpoints, timed_out=False, wait_full=False).outcome is PENDING
    assert at_deadline(endpoints, timed_out=True, wait_full=False).outcome is Outcome.FAILED
