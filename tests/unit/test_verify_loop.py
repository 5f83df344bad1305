"""verify's watch loop bookkeeping: a change re-evaluates the checks it can affect; the tick re-evaluates the rest."""

from __future__ import annotations

import copy
from typing import Any

from gate.cluster import WatchEvent
from gate.kinds import BUILTIN_RESOURCES
from gate.manifests import load
from gate.objects import ObjectRef
from gate.rollouts import State
from gate.verify import Deadlines, Touched, Verification, plan_checks

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
    """The one cluster call a failing check makes (its pods' Warning events); nothing else is requested."""

    def events_for(self, namespace: str, name: str) -> list[str]:
        return []


def event(kind: str, type_: str, *objects: dict[str, Any]) -> WatchEvent:
    return WatchEvent(BUILTIN_RESOURCES[kind], NS, type_, tuple(objects))


def states(verification: Verification) -> dict[str, State]:
    return {check.ref.name: check.verdict.state for check in verification.checks}


def test_a_change_decides_its_own_checks_at_once_and_the_tick_decides_the_rest() -> None:
    names = ("web", "api", "idle")
    touched = [Touched(ObjectRef("Deployment", NS, name), "apps/v1") for name in names]
    verification = Verification(NoEvents(), touched, Deadlines())  # type: ignore[arg-type]
    verification._apply(event("Deployment", "SYNCED", *(deployment(name, 1) for name in names)))
    verification._apply(event("ReplicaSet", "SYNCED", *(replicaset(name) for name in names)))
    verification._apply(event("Pod", "SYNCED"))
    verification._evaluate(0.0, every_check=True)
    assert set(states(verification).values()) == {State.PENDING}

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
    assert states(verification) == {"web": State.PASSED, "api": State.FAILED, "idle": State.PENDING}
    settle()
    verification._evaluate(1.2, every_check=True)
    assert states(verification)["idle"] is State.PASSED


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


def test_ingress_and_route_backends_get_endpoints_checks(tmp_path) -> None:
    from gate.verify import Touched

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
