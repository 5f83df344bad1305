"""Live objects are untrusted input: a malformed field a check reads is "could not verify" (exit 3), never a crash.

Each row breaks one field of one object of a small world (a touched Deployment and its Service, with their
ReplicaSet, pod and EndpointSlice, or another kind's rollout) and feeds the world through the engine's path
(watch events into the snapshot, then the pure checks). The check that reads the field must raise
MalformedObject naming object and field; events and pods that are only evidence must not stop a check.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.cli import main
from gate.cluster import WatchEvent
from gate.errors import EXIT_UNVERIFIABLE, ClusterError
from gate.findings import Outcome
from gate.kinds import BUILTIN_RESOURCES, Resource
from gate.objects import ObjectRef, kind_group
from gate.schema import MalformedObject, validate_live
from gate.status.events import warning_lines
from gate.status.pods import pod_problems
from gate.verify.argocd import application_resources
from gate.verify.checks import PENDING
from gate.verify.engine import TICK, Deadlines, Touched, Verification
from gate.verify.probe import RUN_LABEL, ProbePods, ProbeTarget
from gate.verify.snapshot import Snapshot
from tests.testing.clock import FakeClock
from tests.testing.engine import FakeCluster

NS = "shop"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def world() -> dict[str, dict[str, Any]]:
    """A Deployment mid-rollout (so its pods are read as evidence) whose Service has no ready endpoint yet (so the
    endpoints check reads pods, workloads and slices): every field a check reads is read."""
    owner = {"kind": "Deployment", "name": "web", "uid": "d1", "controller": True}
    return {
        "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "web", "namespace": NS, "uid": "d1", "generation": 2, "labels": {"app": "web"},
            "creationTimestamp": "2026-11-26T11:00:00Z", "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 1, "paused": False, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "main", "ports": [{"name": "http", "containerPort": 8080}]}]}}},
            "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0,
                       "availableReplicas": 0, "conditions": [
                           {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "m"}]}},
        "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": "web-1", "namespace": NS, "uid": "r1", "ownerReferences": [owner],
            "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}}},
            "status": {"replicas": 1, "readyReplicas": 0, "availableReplicas": 0}},
        "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "web-1-x", "namespace": NS, "uid": "p1", "labels": {"app": "web"},
            "creationTimestamp": "2026-11-26T11:59:00Z",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "uid": "r1", "controller": True}]},
            "spec": {"containers": [{"name": "main", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Pending", "startTime": "2026-11-26T11:59:00Z", "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                "containerStatuses": [{"name": "main", "ready": False, "restartCount": 0, "state": {
                    "waiting": {"reason": "ContainerCreating", "message": "m"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}},
        "Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
                    "spec": {"type": "ClusterIP", "selector": {"app": "web"},
                             "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
        "EndpointSlice": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {
            "name": "web-abc", "namespace": NS, "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": False, "serving": False}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
    }


def verify(objects: dict[str, Any], touched: list[Touched], clock: FakeClock | None = None) -> Verification:
    """The engine's path, without a server: each kind's list as a SYNCED event, then the loop's first turn."""
    verification = Verification(FakeCluster(), touched, Deadlines(), clock=clock or FakeClock())  # type: ignore[arg-type]
    for kind, obj in objects.items():
        resource = BUILTIN_RESOURCES.get(kind) or Resource(kind, "example.com", "v1", kind.lower() + "s")
        verification.observe(WatchEvent(resource, NS, "SYNCED", (obj,)))
    verification.step()
    return verification


WEB = [Touched(ObjectRef("Deployment", NS, "web"), "apps/v1"), Touched(ObjectRef("Service", NS, "web"), "v1")]


def broken(objects: dict[str, Any], kind: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of objects with objects[kind] at path set to value (the whole object when path is empty)."""
    objects = copy.deepcopy(objects)
    if not path:
        objects[kind] = value
        return objects
    parent = objects[kind]
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return objects


NAN, INF = float("nan"), float("inf")
# (kind, path, bad value, the field the message names). Every field of world() some check reads.
WEB_ROWS = [
    ("Deployment", ("status", "readyReplicas"), "x", "status.readyReplicas: expected an integer"),
    ("Deployment", ("status", "readyReplicas"), INF, "status.readyReplicas: expected an integer (0 or more), got inf"),
    ("Deployment", ("status", "readyReplicas"), NAN, "status.readyReplicas: expected an integer (0 or more), got nan"),
    ("Deployment", ("status", "readyReplicas"), 2.5, "status.readyReplicas"),
    ("Deployment", ("status", "readyReplicas"), True, "status.readyReplicas"),
    ("Deployment", ("status", "readyReplicas"), -1, "status.readyReplicas"),
    ("Deployment", ("status", "readyReplicas"), 2 ** 31, "status.readyReplicas"),
    ("Deployment", ("status", "replicas"), "1", "status.replicas"),
    ("Deployment", ("status", "updatedReplicas"), [], "status.updatedReplicas"),
    ("Deployment", ("status", "availableReplicas"), {}, "status.availableReplicas"),
    ("Deployment", ("status", "observedGeneration"), "x", "status.observedGeneration"),
    ("Deployment", ("metadata", "generation"), NAN, "metadata.generation"),
    ("Deployment", ("status", "conditions"), 5, "status.conditions"),
    ("Deployment", ("status", "conditions"), "x", "status.conditions"),
    ("Deployment", ("status", "conditions", 0), 5, "status.conditions[0]"),
    ("Deployment", ("status", "conditions", 0, "reason"), ["ProgressDeadlineExceeded"], "status.conditions[0].reason"),
    ("Deployment", ("status", "conditions", 0, "type"), {"a": 1}, "status.conditions[0].type"),
    ("Deployment", ("status",), "x", "status: expected a status"),
    ("Deployment", ("spec", "replicas"), "1", "spec.replicas"),
    ("Deployment", ("spec", "replicas"), INF, "spec.replicas"),
    ("Deployment", ("spec", "paused"), "no", "spec.paused: expected true or false"),
    ("Deployment", ("spec", "template", "metadata", "labels"), {"app": 5}, "spec.template.metadata.labels.app"),
    ("Deployment", ("metadata", "deletionTimestamp"), "yesterday", "metadata.deletionTimestamp"),
    ("Deployment", ("metadata", "creationTimestamp"), "yesterday", "metadata.creationTimestamp: expected an RFC 3339"),
    ("Deployment", ("metadata", "uid"), ["d1"], "metadata.uid"),
    ("Deployment", ("metadata", "annotations"), {"deployment.kubernetes.io/revision": 1},
     "metadata.annotations"),
    ("Deployment", ("metadata",), "x", "metadata: expected object metadata"),
    ("Deployment", ("kind",), "ConfigMap", "kind: expected Deployment (the kind asked for), got 'ConfigMap'"),
    ("ReplicaSet", ("metadata", "ownerReferences"), "x", "metadata.ownerReferences"),
    ("ReplicaSet", ("metadata", "ownerReferences", 0), 5, "metadata.ownerReferences[0]"),
    ("ReplicaSet", ("metadata", "ownerReferences", 0, "uid"), ["d1"], "metadata.ownerReferences[0].uid"),
    ("ReplicaSet", ("metadata", "ownerReferences", 0, "controller"), "yes", "metadata.ownerReferences[0].controller"),
    ("ReplicaSet", ("spec", "replicas"), "x", "spec.replicas"),
    ("ReplicaSet", ("status", "readyReplicas"), "x", "status.readyReplicas"),
    ("Pod", ("metadata", "labels"), {"app": {"a": "b"}}, "metadata.labels.app"),
    ("Pod", ("metadata", "creationTimestamp"), "yesterday", "metadata.creationTimestamp"),
    ("Pod", ("metadata", "creationTimestamp"), "2026-11-26T11:59:00", "metadata.creationTimestamp"),  # no zone
    ("Pod", ("status", "startTime"), 1764158340, "status.startTime"),
    ("Pod", ("status", "phase"), 5, "status.phase"),
    ("Pod", ("status", "conditions", 0, "status"), True, "status.conditions[0].status"),
    ("Pod", ("status", "containerStatuses"), "x", "status.containerStatuses"),
    ("Pod", ("status", "containerStatuses", 0), 5, "status.containerStatuses[0]"),
    ("Pod", ("status", "containerStatuses", 0, "restartCount"), "many", "status.containerStatuses[0].restartCount"),
    ("Pod", ("status", "containerStatuses", 0, "ready"), "false", "status.containerStatuses[0].ready"),
    ("Pod", ("status", "containerStatuses", 0, "state"), "x", "status.containerStatuses[0].state"),
    ("Pod", ("status", "containerStatuses", 0, "state", "waiting", "message"), 5,
     "status.containerStatuses[0].state.waiting.message"),
    ("Pod", ("status", "containerStatuses", 0, "lastState", "terminated", "exitCode"), INF,
     "status.containerStatuses[0].lastState.terminated.exitCode"),
    ("Pod", ("status", "initContainerStatuses"), {"a": 1}, "status.initContainerStatuses"),
    ("Pod", ("spec", "containers", 0, "ports", 0, "name"), 5, "spec.containers[0].ports[0].name"),
    ("Service", ("spec", "ports"), 5, "spec.ports"),
    ("Service", ("spec", "ports", 0, "port"), "x", "spec.ports[0].port"),
    ("Service", ("spec", "ports", 0, "name"), ["http"], "spec.ports[0].name"),
    ("Service", ("spec", "selector"), "app=web", "spec.selector"),
    ("Service", ("spec", "type"), 5, "spec.type"),
    ("EndpointSlice", ("endpoints",), 5, "endpoints: expected a list of endpoints, got 5"),
    ("EndpointSlice", ("endpoints", 0), "x", "endpoints[0]"),
    ("EndpointSlice", ("endpoints", 0, "conditions"), "x", "endpoints[0].conditions"),
    ("EndpointSlice", ("endpoints", 0, "conditions", "ready"), "yes", "endpoints[0].conditions.ready"),
    ("EndpointSlice", ("ports",), "x", "ports"),
    ("EndpointSlice", ("ports", 0, "name"), ["http"], "ports[0].name"),
    ("EndpointSlice", ("ports", 0, "port"), INF, "ports[0].port"),
    ("EndpointSlice", ("metadata", "labels", "kubernetes.io/service-name"), ["web"], "metadata.labels"),
]


def _row_id(row: tuple[str, tuple[str | int, ...], Any, str]) -> str:
    kind, path, value, _ = row
    return f"{kind}.{'.'.join(map(str, path)) or 'whole'}={value!r}"


def cannot_verify(objects: dict[str, Any], touched: list[Touched]) -> str:
    """The one-line error of a run over objects, which must be 'could not verify'."""
    with pytest.raises(MalformedObject) as raised:
        verify(objects, touched)
    assert raised.value.exit_code == EXIT_UNVERIFIABLE
    assert isinstance(raised.value, ClusterError)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_the_well_formed_world_is_verified_and_pending() -> None:
    """The baseline every row breaks: no error, both checks pending (so every field above is read)."""
    verification = verify(world(), WEB)
    rollout, endpoints = (check.verdict for check in verification.checks)
    assert (rollout.outcome, rollout.message) == (PENDING, "Ready: 0/1, updated: 1/1, available: 0/1")
    assert endpoints.outcome is PENDING  # until the deadline: the pods may turn Ready
    assert endpoints.message == "service/web: 1 pod(s) match app=web but none is Ready"


@pytest.mark.parametrize(("kind", "path", "value", "field"), WEB_ROWS, ids=[_row_id(r) for r in WEB_ROWS])
def test_a_malformed_live_field_is_a_check_that_cannot_be_made(kind: str, path: tuple[str | int, ...], value: Any,
                                                               field: str) -> None:
    message = cannot_verify(broken(world(), kind, path, value), WEB)
    name = {"Deployment": "deployment/web", "ReplicaSet": "replicaset/web-1", "Pod": "pod/web-1-x",
            "Service": "service/web", "EndpointSlice": "endpointslice/web-abc"}[kind]
    if path[0] == "metadata" and len(path) == 1:
        name = f"{kind.lower()}/?"  # the object does not say its name
    assert message.startswith(f"malformed object from the API server: {name}")
    assert field in message


OTHER_KINDS = {
    "StatefulSet": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
                    "spec": {"replicas": 2, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                        "partition": 1}}},
                    "status": {"readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2,
                               "updateRevision": "a", "currentRevision": "b"}},
    "DaemonSet": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": NS},
                  "spec": {"updateStrategy": {"type": "RollingUpdate"}},
                  "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2,
                             "numberReady": 2}},
    "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": NS},
            "spec": {"completions": 1, "suspend": False}, "status": {"succeeded": 0, "active": 1, "failed": 0}},
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": NS},
            "status": {"phase": "Failed", "reason": "Evicted", "message": "m"}},
    "Widget": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": NS,
                                                                              "generation": 1},
               "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]}},
}
OTHER_ROWS = [
    ("StatefulSet", ("spec", "updateStrategy"), "RollingUpdate", "spec.updateStrategy"),
    ("StatefulSet", ("spec", "updateStrategy", "rollingUpdate", "partition"), "1",
     "spec.updateStrategy.rollingUpdate.partition"),
    ("StatefulSet", ("status", "availableReplicas"), NAN, "status.availableReplicas"),
    ("StatefulSet", ("status", "updateRevision"), 5, "status.updateRevision"),
    ("DaemonSet", ("status", "numberReady"), "2", "status.numberReady"),
    ("DaemonSet", ("status", "desiredNumberScheduled"), INF, "status.desiredNumberScheduled"),
    ("DaemonSet", ("spec", "updateStrategy", "type"), ["OnDelete"], "spec.updateStrategy.type"),
    ("Job", ("status", "succeeded"), "0", "status.succeeded"),
    ("Job", ("spec", "completions"), "1", "spec.completions"),
    ("Job", ("spec", "suspend"), "false", "spec.suspend"),
    ("Pod", ("status", "reason"), 5, "status.reason"),
    ("Pod", ("status", "message"), ["m"], "status.message"),
    ("Widget", ("status", "conditions"), 5, "status.conditions"),
    ("Widget", ("status", "observedGeneration"), "1", "status.observedGeneration"),
    ("Widget", ("metadata", "generation"), INF, "metadata.generation"),
]


@pytest.mark.parametrize(("kind", "path", "value", "field"), OTHER_ROWS, ids=[_row_id(r) for r in OTHER_ROWS])
def test_every_kinds_status_fields_are_checked(kind: str, path: tuple[str | int, ...], value: Any, field: str) -> None:
    obj = OTHER_KINDS[kind]
    touched = [Touched(ObjectRef(kind, NS, obj["metadata"]["name"], kind_group(kind, obj["apiVersion"])),
                       obj["apiVersion"])]
    (judged,) = verify({kind: obj}, touched).checks  # the well-formed one is judged: found, under its own group
    assert not judged.verdict.message.startswith("not found"), judged.verdict.message
    message = cannot_verify(broken({kind: obj}, kind, path, value), touched)
    assert f"{kind.lower()}/{obj['metadata']['name']} in namespace {NS}: {field}" in message


def test_a_malformed_pod_is_evidence_that_could_not_be_read_not_a_failed_rollout() -> None:
    """Pods only explain a rollout: the Deployment's own status still decides, and the evidence says why none."""
    objects = broken(world(), "Pod", ("status", "containerStatuses", 0, "restartCount"), "many")
    verification = verify({k: v for k, v in objects.items() if k != "Service"}, WEB[:1])
    (check,) = verification.checks
    assert check.verdict.outcome is PENDING
    assert check.verdict.evidence == ("pods not read: malformed object from the API server: pod/web-1-x in namespace "
                                      "shop: status.containerStatuses[0].restartCount: expected an integer (0 or "
                                      "more), got 'many'",)


def test_a_malformed_object_no_check_reads_stops_nothing_and_a_fixed_one_is_read_again() -> None:
    """Only a check that reads it cannot be made; the next watch event of a well-formed version replaces it."""
    objects = world()
    objects["Deployment"]["status"].update(readyReplicas=1, availableReplicas=1)  # passes without reading pods
    objects["EndpointSlice"]["endpoints"][0]["conditions"]["ready"] = True
    objects["Pod"]["status"]["phase"] = "Bogus"
    bad_pod = broken(objects, "Pod", ("status", "startTime"), "yesterday")
    verification = verify(bad_pod, WEB)
    assert [c.verdict.outcome for c in verification.checks] == [Outcome.PASSED, Outcome.PASSED]

    failing = broken(bad_pod, "EndpointSlice", ("endpoints", 0, "conditions", "ready"), False)
    with pytest.raises(MalformedObject, match=r"pod/web-1-x in namespace shop: status\.startTime"):
        verify(failing, WEB)
    clock = FakeClock()
    verification = verify(broken(failing, "Pod", ("status", "startTime"), None), WEB, clock)
    verification.observe(WatchEvent(BUILTIN_RESOURCES["Pod"], NS, "MODIFIED", (objects["Pod"],)))
    clock.advance(TICK)
    verification.step()
    assert verification.checks[1].verdict.message == "service/web: 1 pod(s) match app=web but none is Ready"


def test_an_object_that_is_not_a_mapping_is_held_as_malformed() -> None:
    snapshot = Snapshot()
    snapshot.put("Pod", NS, ["not", "an", "object"])  # type: ignore[arg-type]
    assert snapshot.get("Pod", NS, "web") is None
    with pytest.raises(MalformedObject, match=r"^malformed object from the API server: pod/\?: the object: "
                                              r"expected an object, got a list$"):
        snapshot.of("Pod", NS)
    snapshot.replace_all("Pod", NS, [])
    assert snapshot.of("Pod", NS) == []


def test_a_waiting_message_of_null_is_no_message() -> None:
    """null is 'unset' in the API: an ErrImagePull without a message is still evidence (it crashed the regex)."""
    pod = world()["Pod"]
    pod["status"]["containerStatuses"][0]["state"]["waiting"] = {"reason": "ErrImagePull", "message": None}
    validate_live(pod, "Pod")
    (problem,) = pod_problems(pod, NOW)
    assert (problem.reason, problem.message, problem.final) == ("ErrImagePull", "", True)


# --- Events: evidence only -------------------------------------------------------------------------------------

def event(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1-x.1", "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": "web-1-x"}, "type": "Warning", "reason": "BackOff",
            "message": "Back-off restarting failed container", "count": 3,
            "lastTimestamp": "2026-11-26T11:59:30Z", **fields}


@pytest.mark.parametrize(("fields", "field"), [
    ({"count": "many"}, "count"), ({"count": INF}, "count"), ({"count": NAN}, "count"),
    ({"lastTimestamp": "yesterday"}, "lastTimestamp"), ({"eventTime": 5}, "eventTime"),
    ({"message": 5}, "message"), ({"reason": ["BackOff"]}, "reason"), ({"kind": "Pod"}, "kind"),
    ({"metadata": "x"}, "metadata"),
], ids=repr)
def test_a_malformed_event_is_left_out_of_the_evidence(fields: dict[str, Any], field: str) -> None:
    lines = warning_lines([event(reason="Pulled", count=1, lastTimestamp="2026-11-26T11:59:00Z"), event(**fields)])
    assert lines[0] == "Pulled: Back-off restarting failed container"
    assert lines[1].startswith("(1 malformed Event(s) left out; the first: malformed object from the API server: "
                               "event/")
    assert f": {field}" in lines[1]
    assert len(lines) == 2


def test_events_that_are_not_objects_are_left_out() -> None:
    assert warning_lines(["x", 5, None, event()]) == [
        "BackOff: Back-off restarting failed container (x3)",
        "(3 malformed Event(s) left out; the first: malformed object from the API server: event/?: the object: "
        "expected an object, got 'x')"]


# --- Argo CD: the touched set ----------------------------------------------------------------------------------

class ArgoCluster:
    def __init__(self, application: Any) -> None:
        self.application = application

    def resource_for(self, kind: str, api_version: str, where: str) -> None:
        return None

    def get(self, resource: Resource, namespace: str, name: str) -> Any:
        return self.application


def application(resources: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "shop", "namespace": "argocd"}, "status": {"resources": resources}}


@pytest.mark.parametrize(("resources", "field"), [
    ("x", "status.resources: expected a list of resources, got 'x'"),
    (5, "status.resources"),
    ([5], "status.resources[0]: expected a resource, got 5"),
    ([{"kind": 5, "name": "web"}], "status.resources[0].kind"),
    ([{"kind": "Deployment", "name": ["web"]}], "status.resources[0].name"),
    ([{"kind": "Deployment", "name": "web", "group": {}}], "status.resources[0].group"),
    ([{"kind": "Deployment", "name": "web", "namespace": 1}], "status.resources[0].namespace"),
])
def test_a_malformed_argocd_application_cannot_be_verified(resources: Any, field: str) -> None:
    cluster = ArgoCluster(application(resources))
    with pytest.raises(MalformedObject) as raised:
        application_resources(cluster, "shop", "argocd")  # type: ignore[arg-type]
    assert str(raised.value).startswith(f"malformed object from the API server: application/shop in namespace "
                                        f"argocd: {field}")


def test_a_well_formed_argocd_application_is_read() -> None:
    cluster = ArgoCluster(application([{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": NS,
                                        "name": "web"}]))
    (touched,) = application_resources(cluster, "shop", "argocd")  # type: ignore[arg-type]
    assert (touched.ref, touched.api_version) == (ObjectRef("Deployment", NS, "web"), "apps/v1")


# --- explain --live: through the command and its exit code ----------------------------------------------------

class ListingCluster:
    """What explain --live asks of a cluster: the namespace, the lists, discovery."""

    server = "https://127.0.0.1:1"

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects
        self.namespace = NS

    def __call__(self, kubeconfig: str | None, context: str | None, request_seconds: float | None) -> ListingCluster:
        return self

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Any], str]:
        obj = self.objects.get(resource.kind)
        return ([copy.deepcopy(obj)] if obj is not None else []), "1"

    def request(self, method: str, path: str) -> dict[str, Any]:
        return {"groups": []}


def explain_live(objects: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    import gate.cluster

    monkeypatch.setattr(gate.cluster, "Cluster", ListingCluster(objects))
    return CliRunner().invoke(main, ["explain", "--live", "--from", f"{NS}/deployment/web", "--to", f"{NS}/web:80"],
                              env={"GITHUB_ACTIONS": None})


def policy_world() -> dict[str, Any]:
    objects = world()
    objects["NetworkPolicy"] = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {
        "name": "web", "namespace": NS}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [
            {"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]}}
    objects["Namespace"] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS,
                                                                                  "labels": {"team": "shop"}}}
    return objects


def test_explain_live_reads_a_well_formed_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    result = explain_live(policy_world(), monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ALLOW")


@pytest.mark.parametrize(("kind", "path", "value", "field"), [
    ("Deployment", ("spec", "template", "metadata", "labels"), {"app": 5}, "spec.template.metadata.labels.app"),
    ("Deployment", ("spec", "selector"), "app=web", "spec.selector"),
    ("Service", ("spec", "ports", 0, "targetPort"), ["http"], "spec.ports[0].targetPort"),
    ("Service", ("spec", "selector"), 5, "spec.selector"),
    ("NetworkPolicy", ("spec", "ingress"), "all", "spec.ingress"),
    ("NetworkPolicy", ("spec", "ingress", 0, "from", 0, "podSelector"), "x", "spec.ingress[0].from[0].podSelector"),
    ("Namespace", ("metadata", "labels"), {"team": 1}, "metadata.labels.team"),
    ("Namespace", ("metadata", "name"), ["shop"], "metadata.name"),
])
def test_explain_live_cannot_explain_from_a_malformed_object(kind: str, path: tuple[str | int, ...], value: Any,
                                                             field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = explain_live(broken(policy_world(), kind, path, value), monkeypatch)
    assert result.exit_code == EXIT_UNVERIFIABLE, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(f"deploy-gate: error: malformed object from the API server: {kind.lower()}/")
    assert field in line


# --- Any JSON value, anywhere a check reads ---------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=6)
READ_FIELDS = [(kind, path) for kind, path, _, _ in WEB_ROWS if path and path[0] != "kind"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(READ_FIELDS), JSON), min_size=1, max_size=3))
def test_any_json_value_in_the_fields_the_checks_read_is_a_verdict_or_cannot_verify(
        changes: list[tuple[tuple[str, tuple[str | int, ...]], Any]]) -> None:
    objects = world()
    for (kind, path), value in changes:
        try:
            objects = broken(objects, kind, path, value)
        except (KeyError, IndexError, TypeError):  # an earlier change replaced a parent of this field
            continue
    try:
        verify(objects, WEB)
    except MalformedObject as malformed:
        assert "\n" not in str(malformed)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(JSON, st.builds(lambda extra: {**event(), **extra},
                                          st.dictionaries(st.sampled_from(["count", "message", "reason",
                                                                           "lastTimestamp", "eventTime", "kind"]),
                                                          JSON, max_size=2))), max_size=4))
def test_any_events_are_lines_of_evidence(events: list[Any]) -> None:
    assert all(isinstance(line, str) for line in warning_lines(events))


def test_python_json_nan_and_infinity_literals_are_rejected_where_an_integer_is_due() -> None:
    """json.loads accepts NaN and Infinity, which the API server never sends: the schema refuses them as counts."""
    status = json.loads('{"readyReplicas": NaN, "replicas": Infinity}')
    assert math.isnan(status["readyReplicas"])
    objects = world()
    objects["Deployment"]["status"].update(status)
    assert "status.replicas: expected an integer (0 or more), got inf" in cannot_verify(objects, WEB)



# --- Probe pods: deploy-gate's own, read back from the cluster ---------------------------------------------------

class ProbeCluster:
    """Creates probe pods and lists them; each watch stream ends when interrupted (end_watchers)."""

    server = "https://127.0.0.1:1"
    deadline: float | None = None  # the run's (Cluster.bound): none here

    def __init__(self, listed: list[Any], created: Any = None) -> None:
        self.listed, self.created = listed, created
        self.deleted: list[str] = []
        self.selectors: list[str | None] = []

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None) -> tuple[list, str]:
        self.selectors.append(label_selector)
        return copy.deepcopy(self.listed), "1"

    def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> Any:
        return self.created if self.created is not None else {**body, "metadata": {**body["metadata"], "name": "p1"}}

    def delete(self, resource: Resource, namespace: str, name: str) -> None:
        self.deleted.append(name)

    def watch(self, resource: Resource, namespace: str | None, version: str) -> Any:
        return EndlessStream()

    def bound(self, deadline: float | None) -> None:
        self.deadline = deadline


class EndlessStream:
    def __init__(self) -> None:
        self.ended = threading.Event()

    def __iter__(self) -> Any:
        self.ended.wait(5)
        return iter(())

    def interrupt(self) -> None:
        self.ended.set()


def probe_pod_listed(**metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "deploy-gate-probe-x", "namespace": NS,
                                                            "creationTimestamp": "2026-11-26T11:00:00Z", **metadata},
            "status": {"phase": "Running"}}


def test_a_stale_probe_sweep_refuses_a_malformed_pod_and_reads_a_well_formed_one() -> None:
    cluster = ProbeCluster([probe_pod_listed(creationTimestamp="yesterday")])
    with pytest.raises(MalformedObject, match=r"pod/deploy-gate-probe-x in namespace shop: "
                                              r"metadata\.creationTimestamp"):
        ProbePods(cluster, "busybox").remove_stale({NS})  # type: ignore[arg-type]
    cluster = ProbeCluster([probe_pod_listed(creationTimestamp="2020-01-01T00:00:00Z")])
    assert ProbePods(cluster, "busybox").remove_stale({NS}) == 1  # type: ignore[arg-type]
    assert cluster.deleted == ["deploy-gate-probe-x"]


@pytest.mark.parametrize(("listed", "created", "field"), [
    ([], {"kind": "Pod", "metadata": {"name": ["p1"], "namespace": NS}}, "pod/? in namespace shop: metadata.name"),
    ([probe_pod_listed(name="p1", labels={"app": "web"})
      | {"status": {"containerStatuses": [{"name": "probe", "state": {"terminated": {"message": 5}}}]}}],
     None, "pod/p1 in namespace shop: status.containerStatuses[0].state.terminated.message"),
])
def test_a_malformed_probe_pod_cannot_be_verified_and_is_still_deleted(listed: list[Any], created: Any,
                                                                      field: str) -> None:
    cluster = ProbeCluster(listed, created)
    target = ProbeTarget("web -> api", NS, {"app": "web"}, "api.shop.svc", 80, None, 5.0)
    with pytest.raises(MalformedObject) as raised:
        (probes := ProbePods(cluster, "busybox")).run([target], 10.0)  # type: ignore[arg-type]
    assert field in str(raised.value)
    assert cluster.deleted or cluster.selectors[-1] == f"{RUN_LABEL}={probes.run_id}"  # swept whatever the answer
