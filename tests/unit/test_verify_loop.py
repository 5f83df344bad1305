"""verify's watch loop bookkeeping: a change re-evaluates the checks it can affect; the tick re-evaluates the rest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from gate.cluster import WatchEvent
from gate.errors import ClusterError
from gate.findings import Outcome
from gate.kinds import BUILTIN_RESOURCES, Resource
from gate.manifests import load
from gate.objects import ObjectRef
from gate.verify.checks import PENDING
from gate.verify.engine import Deadlines, Touched, Verification, Watched, plan_checks, watched_resources
from tests.testing.clock import FakeClock

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


class NoEvents:
    """The cluster calls a failing check makes: its pods' Warning events (none here) and, before a deadline failure
    counts, the storage check (which fails with `storage_error`); nothing else is requested."""

    def __init__(self, storage_error: ClusterError | None = None) -> None:
        self.storage_error = storage_error
        self.storage_checks: list[list[str]] = []

    def events_for(self, namespace: str, name: str) -> list[str]:
        return []

    def confirm_storage(self, paths: list[str]) -> None:
        self.storage_checks.append(paths)
        if self.storage_error is not None:
            raise self.storage_error


def event(kind: str, type_: str, *objects: dict[str, Any]) -> WatchEvent:
    return WatchEvent(BUILTIN_RESOURCES[kind], NS, type_, tuple(objects))


def states(verification: Verification) -> dict[str, Outcome | None]:
    return {check.ref.name: check.verdict.outcome for check in verification.checks}


def test_a_change_decides_its_own_checks_at_once_and_the_tick_decides_the_rest() -> None:
    names = ("web", "api", "idle")
    touched = [Touched(ObjectRef("Deployment", NS, name), "apps/v1") for name in names]
    verification = Verification(NoEvents(), touched, Deadlines())  # type: ignore[arg-type]
    verification._apply(event("Deployment", "SYNCED", *(deployment(name, 1) for name in names)))
    verification._apply(event("ReplicaSet", "SYNCED", *(replicaset(name) for name in names)))
    verification._apply(event("Pod", "SYNCED"))
    verification._evaluate(0.0, every_check=True)
    assert set(states(verification).values()) == {PENDING}

    def settle() -> None:
        verification.changed_refs.clear()
        verification.changed_namespaces.clear()

    settle()
    verification._apply(event("Deployment", "MODIFIED", deployment("web", 2)))  # web completes
    verification._apply(event("Pod", "ADDED", crash_looping_pod("api")))  # api's pod, through its ReplicaSet
    idle = verification.snapshot.get("Deployment", NS, "idle")
    idle["status"] = copy.deepcopy(deployment("idle", 2)["status"])  # changed without an event of its own
    assert ObjectRef("Deployment", NS, "api") in verification.changed_refs
    verification._evaluate(0.2, every_check=False)
    assert states(verification) == {"web": Outcome.PASSED, "api": Outcome.FAILED, "idle": PENDING}
    settle()
    verification._evaluate(1.2, every_check=True)
    assert states(verification)["idle"] is Outcome.PASSED


def test_held_workloads_keep_template_labels_but_not_the_template_spec() -> None:
    """No check reads a live workload's pod spec (its pods carry theirs); thousands of ReplicaSets need the memory."""
    touched = [Touched(ObjectRef("Deployment", NS, "web"), "apps/v1")]
    verification = Verification(NoEvents(), touched, Deadlines())  # type: ignore[arg-type]
    web = deployment("web", 2)
    web["spec"]["template"]["spec"] = {"containers": [{"name": "app", "image": "web:1"}]}
    pod = crash_looping_pod("web")
    pod["spec"] = {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]}
    verification._apply(event("Deployment", "SYNCED", web))
    verification._apply(event("Pod", "ADDED", pod))
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


class BuiltinKindsOnly:
    """resource_for as the cluster answers it for built-in kinds; verify asks nothing else while planning."""

    def resource_for(self, kind: str, api_version: str, where: str = "") -> Resource:
        return BUILTIN_RESOURCES[kind]


def _names(watched: set[Watched]) -> set[tuple[str, str | None]]:
    return {(resource.kind, namespace) for resource, namespace in watched}


def test_the_first_lists_are_what_a_pass_reads_and_the_rest_only_explains() -> None:
    touched = [Touched(ObjectRef("Deployment", NS, "web"), "apps/v1"), Touched(ObjectRef("Service", NS, "web"), "v1"),
               Touched(ObjectRef("StatefulSet", "db", "pg"), "apps/v1")]
    deciding, explaining = watched_resources(BuiltinKindsOnly(), touched, plan_checks(touched))  # type: ignore[arg-type]
    assert _names(deciding) == {("Deployment", NS), ("Service", NS), ("EndpointSlice", NS), ("StatefulSet", "db")}
    assert _names(explaining) == {("Pod", NS), ("ReplicaSet", NS), ("StatefulSet", NS), ("DaemonSet", NS),
                                  ("Job", NS), ("Pod", "db")}


def test_a_check_that_has_not_passed_lists_what_explains_it_before_its_verdict_counts() -> None:
    touched = [Touched(ObjectRef("Service", NS, "web"), "v1")]
    verification = Verification(NoEvents(), touched, Deadlines(endpoints=60))  # type: ignore[arg-type]
    service, pod, endpoint_slice = _service_world(ready=False)
    verification._apply(service)
    verification._apply(endpoint_slice)
    verification.unexplained[NS] = {(BUILTIN_RESOURCES["Pod"], NS)}
    listed: list[set[tuple[str, str | None]]] = []

    def watch(wanted: set[Watched]) -> None:
        listed.append(_names(wanted))
        verification._apply(pod)

    verification._watch = watch  # type: ignore[method-assign]
    verification._evaluate(1.0, every_check=True)
    assert listed == [{("Pod", NS)}]
    assert verification.checks[0].verdict.message == "service/web: 1 pod(s) match app=web but none is Ready"
    verification._evaluate(2.0, every_check=True)  # listed once
    assert listed == [{("Pod", NS)}]


def test_no_verdict_from_a_blind_watch_and_no_failure_from_a_stale_relist() -> None:
    touched = [Touched(ObjectRef("Service", NS, "web"), "v1")]
    clock = FakeClock()
    verification = Verification(NoEvents(), touched, Deadlines(endpoints=60), clock=clock)  # type: ignore[arg-type]
    for synced in _service_world(ready=False):
        verification._apply(synced)
    verification._apply(event("Pod", "DISCONNECTED"))  # the API server stops answering
    verification._evaluate(61.0, every_check=True)  # the deadline passes while blind
    assert states(verification) == {"web": PENDING}
    assert not verification._deadline_passed(65.0, 300.0)  # a bounded grace for the server to come back
    clock.advance(70)  # ... which it did not: exit 3, saying so
    try:
        verification._deadline_passed(71.0, 300.0)  # the endpoints deadline (60 s) + 10 s, though rollouts wait longer
        raise AssertionError("expected ClusterError")
    except ClusterError as error:
        assert str(error).startswith("could not verify: the API server was unreachable for 70 s of the 60 s window")
        assert "last known state: service/web: 1 pod(s) match app=web but none is Ready" in str(error)

    verification._apply(event("Pod", "SYNCED", *[e.objects[0] for e in _service_world(ready=False)[1:2]]))
    verification._evaluate(62.0, every_check=True)  # back, but the kubelet has not reported yet: wait
    assert states(verification) == {"web": PENDING}
    for synced in _service_world(ready=True):  # readiness that passed during the outage arrives
        verification._apply(synced)
    verification._evaluate(63.0, every_check=True)  # a relist marks nothing changed: the next tick decides
    assert states(verification) == {"web": Outcome.PASSED}
    [finding] = [verification._finding(check) for check in verification.checks]
    assert any(line.startswith("decided after an API server outage: the API server was unreachable for")
               for line in finding.evidence)


def test_a_failure_stands_once_the_relisted_state_has_had_its_grace() -> None:
    touched = [Touched(ObjectRef("Service", NS, "web"), "v1")]
    clock = FakeClock()
    verification = Verification(NoEvents(), touched, Deadlines(endpoints=60), clock=clock)  # type: ignore[arg-type]
    for synced in _service_world(ready=False):
        verification._apply(synced)
    verification._apply(event("Pod", "DISCONNECTED"))
    verification._apply(event("Pod", "SYNCED", *_service_world(ready=False)[1].objects))
    verification._evaluate(61.0, every_check=True)
    assert states(verification) == {"web": PENDING}
    clock.advance(89)
    verification._evaluate(70.0, every_check=True)  # the relisted state is still within its grace: held
    assert states(verification) == {"web": PENDING}
    clock.advance(2)  # the controllers have had their time to catch up
    verification._evaluate(72.0, every_check=True)
    assert states(verification) == {"web": Outcome.FAILED}


def _timed_out_service(cluster: NoEvents) -> Verification:
    """A Service whose pod never turned Ready, evaluated past its 60 s deadline."""
    verification = Verification(cluster, [Touched(ObjectRef("Service", NS, "web"), "v1")],  # type: ignore[arg-type]
                                Deadlines(endpoints=60))
    for synced in _service_world(ready=False):
        verification._apply(synced)
    return verification


def test_a_deadline_failure_counts_once_the_storage_answers_a_quorum_read() -> None:
    cluster = NoEvents()
    verification = _timed_out_service(cluster)
    verification._evaluate(30.0, every_check=True)  # a failure before the deadline is pending, not checked
    assert (states(verification), cluster.storage_checks) == ({"web": PENDING}, [])
    verification._evaluate(61.0, every_check=True)
    assert states(verification) == {"web": Outcome.FAILED}
    assert cluster.storage_checks == [["/api/v1/namespaces/shop/services/web"]]


def test_no_deadline_failure_from_a_storage_that_does_not_answer() -> None:
    """etcd frozen: the API server answers from its watch cache and its watches stay open, silent. The snapshot
    may be minutes old, so the deadline must not blame the deploy: exit 3, saying why."""
    stopped = ClusterError("could not verify: the API server's storage is unavailable (/readyz: 500)")
    verification = _timed_out_service(NoEvents(stopped))
    try:
        verification._evaluate(61.0, every_check=True)
        raise AssertionError("expected ClusterError")
    except ClusterError as error:
        assert error is stopped
    assert states(verification) == {"web": PENDING}


class FailingWatcher:
    """A watcher whose watches end at once, again and again."""

    trouble = "the watch of pods in namespace shop ended at once without an event (3 times in a row)"


def test_no_deadline_failure_from_watches_that_follow_nothing() -> None:
    cluster = NoEvents()
    verification = _timed_out_service(cluster)
    verification.watchers = [FailingWatcher()]  # type: ignore[list-item]
    try:
        verification._evaluate(61.0, every_check=True)
        raise AssertionError("expected ClusterError")
    except ClusterError as error:
        assert str(error) == f"could not verify: {FailingWatcher.trouble}"
    assert cluster.storage_checks == []
