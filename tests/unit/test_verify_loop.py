"""verify's watch loop bookkeeping: a change re-evaluates the checks it can affect; the tick re-evaluates the rest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gate.cluster import WatchEvent, end_watchers
from gate.errors import ClusterError
from gate.findings import Outcome
from gate.kinds import BUILTIN_RESOURCES, Resource
from gate.manifests import load
from gate.objects import ObjectRef
from gate.verify.checks import PENDING
from gate.verify.engine import TICK, Deadlines, Touched, Verification, Watched, plan_checks, watched_resources
from tests.testing.clock import FakeClock
from tests.testing.engine import FakeCluster

NS = "shop"


def deployment(name: str, ready: int) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": NS, "uid": f"d-{name}", "generation": 1,
                                               "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": name}}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": ready,
                       "availableReplicas": ready}}


def replicaset(name: str) -> dict[str, Any]:
    return {"kind": "ReplicaSet", "metadata": {
        "name": f"{name}-1", "namespace": NS, "uid": f"r-{name}",
        "annotations": {"deployment.kubernetes.io/revision": "1"},
        "ownerReferences": [{"kind": "Deployment", "name": name, "uid": f"d-{name}", "controller": True}]}}


def crash_looping_pod(name: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": f"{name}-1-x", "namespace": NS, "labels": {"app": name},
                                        "ownerReferences": [{"kind": "ReplicaSet", "name": f"{name}-1",
                                                             "uid": f"r-{name}", "controller": True}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "app", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}


def event(kind: str, type_: str, *objects: dict[str, Any]) -> WatchEvent:
    return WatchEvent(BUILTIN_RESOURCES[kind], NS, type_, tuple(objects))


def states(verification: Verification) -> dict[str, Outcome | None]:
    return {check.ref.name: check.verdict.outcome for check in verification.checks}


def verification_of(touched: list[Touched], deadlines: Deadlines, *lists: WatchEvent,
                    cluster: FakeCluster | None = None) -> tuple[Verification, FakeClock]:
    """A verification at the start of its loop, its first lists observed, and the clock it reads."""
    clock = FakeClock()
    verification = Verification(cluster or FakeCluster(), touched, deadlines, clock=clock)  # type: ignore[arg-type]
    for listed in lists:
        verification.observe(listed)
    return verification, clock


def test_a_change_decides_its_own_checks_at_once_and_the_tick_decides_the_rest() -> None:
    names = ("web", "api", "idle")
    verification, clock = verification_of(
        [Touched(ObjectRef("Deployment", NS, name), "apps/v1") for name in names], Deadlines(),
        event("Deployment", "SYNCED", *(deployment(name, 1) for name in names)),
        event("ReplicaSet", "SYNCED", *(replicaset(name) for name in names)), event("Pod", "SYNCED"))
    assert not verification.step()  # the first turn decides every check
    assert set(states(verification).values()) == {PENDING}

    clock.advance(0.2)  # within the TICK: only what the events touch is decided
    verification.observe(event("Deployment", "MODIFIED", deployment("web", 2)))  # web completes
    verification.observe(event("Pod", "ADDED", crash_looping_pod("api")))  # api's pod, through its ReplicaSet
    idle = verification.snapshot.get("Deployment", NS, "idle")
    idle["status"] = copy.deepcopy(deployment("idle", 2)["status"])  # changed without an event of its own
    assert ObjectRef("Deployment", NS, "api") in verification.changed_refs
    assert not verification.step()
    assert states(verification) == {"web": Outcome.PASSED, "api": Outcome.FAILED, "idle": PENDING}
    clock.advance(TICK)
    assert verification.step()
    assert states(verification)["idle"] is Outcome.PASSED


def test_held_workloads_keep_template_labels_but_not_the_template_spec() -> None:
    """No check reads a live workload's pod spec (its pods carry theirs); thousands of ReplicaSets need the memory."""
    touched = [Touched(ObjectRef("Deployment", NS, "web"), "apps/v1")]
    verification, _ = verification_of(touched, Deadlines())
    web = deployment("web", 2)
    web["spec"]["template"]["spec"] = {"containers": [{"name": "app", "image": "web:1"}]}
    pod = crash_looping_pod("web")
    pod["spec"] = {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]}
    verification.observe(event("Deployment", "SYNCED", web))
    verification.observe(event("Pod", "ADDED", pod))
    held = verification.snapshot.get("Deployment", NS, "web")
    assert held["spec"]["template"] == {"metadata": {"labels": {"app": "web"}}}
    assert verification.snapshot.get("Pod", NS, "web-1-x")["spec"]["containers"][0]["ports"]


def test_ingress_and_route_backends_get_endpoints_checks(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: edge, namespace: shop}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
""")
    touched = [Touched(m.ref(), str(m.obj["apiVersion"]), m) for m in load([str(path)]).manifests]
    endpoints = [(c.ref.name, c.title, c.locations[0].line) for c in plan_checks(touched) if c.phase == "endpoints"]
    assert endpoints == [("web", "web has ready endpoints", 14),
                         ("api", "api has ready endpoints (backend of ingress/edge)", 9)]


def _service_world(ready: bool) -> list[WatchEvent]:
    """A touched Service, its one pod and its EndpointSlice, as the watches' lists deliver them."""
    service = {"kind": "Service", "metadata": {"name": "web", "namespace": NS},
               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    pod = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": NS, "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}
    endpoint_slice = {"kind": "EndpointSlice", "metadata": {"name": "web-x", "namespace": NS,
                                                            "labels": {"kubernetes.io/service-name": "web"}},
                      "ports": [{"name": "http", "port": 8080}],
                      "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": ready}}]}
    return [event("Service", "SYNCED", service), event("Pod", "SYNCED", pod),
            event("EndpointSlice", "SYNCED", endpoint_slice)]


def _names(watched: set[Watched]) -> set[tuple[str, str | None]]:
    return {(resource.kind, namespace) for resource, namespace in watched}


def test_the_first_lists_are_what_a_pass_reads_and_the_rest_only_explains() -> None:
    touched = [Touched(ObjectRef("Deployment", NS, "web"), "apps/v1"), Touched(ObjectRef("Service", NS, "web"), "v1"),
               Touched(ObjectRef("StatefulSet", "db", "pg"), "apps/v1")]
    deciding, explaining = watched_resources(FakeCluster(), touched, plan_checks(touched))  # type: ignore[arg-type]
    assert _names(deciding) == {("Deployment", NS), ("Service", NS), ("EndpointSlice", NS), ("StatefulSet", "db")}
    assert _names(explaining) == {("Pod", NS), ("ReplicaSet", NS), ("StatefulSet", NS), ("DaemonSet", NS),
                                  ("Job", NS), ("Pod", "db")}


def test_a_check_that_has_not_passed_lists_what_explains_it_before_its_verdict_counts() -> None:
    service, pod, endpoint_slice = _service_world(ready=False)
    cluster = FakeCluster(lists={("Pod", NS): list(pod.objects)})
    verification, clock = verification_of([Touched(ObjectRef("Service", NS, "web"), "v1")], Deadlines(endpoints=60),
                                          service, endpoint_slice, cluster=cluster)
    verification.unexplained[NS] = {(BUILTIN_RESOURCES["Pod"], NS)}  # as run() plans it (watched_resources)
    try:
        clock.advance(1)
        assert not verification.step()
        assert cluster.listed == [("Pod", NS)]
        assert verification.checks[0].verdict.message == "service/web: 1 pod(s) match app=web but none is Ready"
        clock.advance(1)
        assert not verification.step()
        assert cluster.listed == [("Pod", NS)]  # listed once
    finally:
        end_watchers(verification.watchers)


def test_no_verdict_from_a_blind_watch_past_a_bounded_grace() -> None:
    verification, clock = verification_of([Touched(ObjectRef("Service", NS, "web"), "v1")], Deadlines(endpoints=60),
                                          *_service_world(ready=False))
    clock.advance(1)
    verification.observe(event("Pod", "DISCONNECTED"))  # the API server stops answering
    clock.advance(60)
    assert not verification.step()  # the deadline passes while blind
    assert states(verification) == {"web": PENDING}
    clock.advance(4)
    assert not verification.step()  # a bounded grace for the server to come back
    clock.advance(6)  # ... which it did not: exit 3, saying so
    with pytest.raises(ClusterError) as raised:  # the endpoints deadline (60 s) + 10 s, though rollouts wait longer
        verification.step()
    assert str(raised.value).startswith("could not verify: the API server was unreachable for 70 s of the 60 s window")
    assert "last known state: service/web: 1 pod(s) match app=web but none is Ready" in str(raised.value)


def test_no_failure_from_a_stale_relist() -> None:
    verification, clock = verification_of([Touched(ObjectRef("Service", NS, "web"), "v1")], Deadlines(endpoints=60),
                                          *_service_world(ready=False))
    clock.advance(1)
    verification.observe(event("Pod", "DISCONNECTED"))
    clock.advance(65)  # past the endpoints deadline, within the grace: the server is back
    verification.observe(event("Pod", "SYNCED", *_service_world(ready=False)[1].objects))
    assert not verification.step()  # back, but the kubelet has not reported yet: wait
    assert states(verification) == {"web": PENDING}
    for synced in _service_world(ready=True):  # readiness that passed during the outage arrives
        verification.observe(synced)
    clock.advance(TICK)
    assert verification.step()  # a relist marks nothing changed: the next tick decides
    assert states(verification) == {"web": Outcome.PASSED}
    [finding] = verification.findings()
    assert any(line.startswith("decided after an API server outage: the API server was unreachable for 65 s")
               for line in finding.evidence)


def test_a_failure_stands_once_the_relisted_state_has_had_its_grace() -> None:
    verification, clock = verification_of([Touched(ObjectRef("Service", NS, "web"), "v1")], Deadlines(endpoints=60),
                                          *_service_world(ready=False))
    verification.observe(event("Pod", "DISCONNECTED"))
    verification.observe(event("Pod", "SYNCED", *_service_world(ready=False)[1].objects))
    clock.advance(61)
    assert not verification.step()
    assert states(verification) == {"web": PENDING}
    clock.advance(28)
    assert not verification.step()  # the relisted state is still within its grace (89 s of 90): held
    assert states(verification) == {"web": PENDING}
    clock.advance(2)  # the controllers have had their time to catch up
    assert verification.step()
    assert states(verification) == {"web": Outcome.FAILED}


def _timed_out_service(cluster: FakeCluster) -> tuple[Verification, FakeClock]:
    """A Service whose pod never turned Ready, its 60 s deadline to come."""
    return verification_of([Touched(ObjectRef("Service", NS, "web"), "v1")], Deadlines(endpoints=60),
                           *_service_world(ready=False), cluster=cluster)


def test_a_deadline_failure_counts_once_the_storage_answers_a_quorum_read() -> None:
    cluster = FakeCluster()
    verification, clock = _timed_out_service(cluster)
    clock.advance(30)
    assert not verification.step()  # a failure before the deadline is pending, not checked
    assert (states(verification), cluster.storage_checks) == ({"web": PENDING}, [])
    clock.advance(31)
    assert verification.step()
    assert states(verification) == {"web": Outcome.FAILED}
    assert cluster.storage_checks == [["/api/v1/namespaces/shop/services/web"]]


def test_no_deadline_failure_from_a_storage_that_does_not_answer() -> None:
    """etcd frozen: the API server answers from its watch cache and its watches stay open, silent. The snapshot
    may be minutes old, so the deadline must not blame the deploy: exit 3, saying why."""
    stopped = ClusterError("could not verify: the API server's storage is unavailable (/readyz: 500)")
    verification, clock = _timed_out_service(FakeCluster(stopped))
    clock.advance(61)
    with pytest.raises(ClusterError) as raised:
        verification.step()
    assert raised.value is stopped
    assert states(verification) == {"web": PENDING}


class FailingWatcher:
    """A watcher whose watches end at once, again and again."""

    trouble = "the watch of pods in namespace shop ended at once without an event (3 times in a row)"


def test_no_deadline_failure_from_watches_that_follow_nothing() -> None:
    cluster = FakeCluster()
    verification, clock = _timed_out_service(cluster)
    verification.watchers = [FailingWatcher()]  # type: ignore[list-item]
    clock.advance(61)
    with pytest.raises(ClusterError) as raised:
        verification.step()
    assert str(raised.value) == f"could not verify: {FailingWatcher.trouble}"
    assert cluster.storage_checks == []


VOLCANO_JOBS = Resource("Job", "batch.volcano.sh", "v1alpha1", "jobs")


def _same_named_jobs() -> tuple[list[Touched], WatchEvent, WatchEvent]:
    """A batch Job that completed and a Volcano Job of the same name still starting, as the watchers list them
    (a watcher gives every listed item its resource's apiVersion)."""
    touched = [Touched(ObjectRef("Job", NS, "migrate"), "batch/v1"),
               Touched(ObjectRef("Job", NS, "migrate", "batch.volcano.sh"), "batch.volcano.sh/v1alpha1")]
    batch_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": NS},
                 "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
    volcano_job = {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
                   "metadata": {"name": "migrate", "namespace": NS},
                   "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending"}]}}
    return touched, event("Job", "SYNCED", batch_job), WatchEvent(VOLCANO_JOBS, NS, "SYNCED", (volcano_job,))


def test_same_named_objects_of_one_kind_name_in_two_groups_are_judged_each_on_its_own() -> None:
    """Identity is (group, kind): a Volcano Job's events must not replace the batch Job of the same name."""
    touched, batch_list, volcano_list = _same_named_jobs()
    for lists in ((batch_list, volcano_list), (volcano_list, batch_list)):
        verification, _ = verification_of(touched, Deadlines(), *lists)
        verification.step()
        assert [(c.ref.group, c.verdict.outcome) for c in verification.checks] == [
            ("batch", Outcome.PASSED), ("batch.volcano.sh", PENDING)]
        verification.observe(WatchEvent(VOLCANO_JOBS, NS, "DELETED", volcano_list.objects))
        assert verification.snapshot.get("Job", NS, "migrate") == batch_list.objects[0]


def test_a_watch_of_one_group_relisting_does_not_end_the_outage_of_another_groups_same_named_kind() -> None:
    touched, batch_list, volcano_list = _same_named_jobs()
    verification, clock = verification_of(touched, Deadlines(), batch_list, volcano_list)
    for resource in (BUILTIN_RESOURCES["Job"], VOLCANO_JOBS):
        verification.observe(WatchEvent(resource, NS, "DISCONNECTED"))
    verification.observe(batch_list)  # the batch watch is back; the Volcano one is still blind
    clock.advance(TICK)
    assert not verification.step()
    assert [c.verdict.outcome for c in verification.checks] == [PENDING, PENDING]  # no verdict while one is blind
    verification.observe(volcano_list)
    clock.advance(TICK)
    assert not verification.step()
    assert [c.verdict.outcome for c in verification.checks] == [Outcome.PASSED, PENDING]


def test_a_deadline_reads_the_storage_of_each_group_of_a_kind_name_it_judges() -> None:
    touched, batch_list, volcano_list = _same_named_jobs()
    batch_list.objects[0]["status"] = {"active": 1}  # neither finishes
    cluster = FakeCluster()
    verification, clock = verification_of(touched, Deadlines(rollout=60), batch_list, volcano_list, cluster=cluster)
    clock.advance(61)
    assert verification.step()
    assert [c.verdict.outcome for c in verification.checks] == [Outcome.FAILED, Outcome.FAILED]
    assert cluster.storage_checks == [["/apis/batch.volcano.sh/v1alpha1/namespaces/shop/jobs/migrate",
                                       "/apis/batch/v1/namespaces/shop/jobs/migrate"]]
