"""Rollout status rules and pod evidence, as named fixtures (after kstatus' status_compute_test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from gate.status import Status, compute
from gate.status.pods import pod_problems, why_not_ready

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)

CASES = {
    "deployment complete": ("""
kind: Deployment
metadata: {generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}
""", Status.CURRENT, "Ready: 3/3"),
    "deployment generation not observed": ("""
kind: Deployment
metadata: {generation: 3}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}
""", Status.IN_PROGRESS, "has not observed generation 3"),
    "deployment old replicas remain": ("""
kind: Deployment
spec: {replicas: 3}
status: {replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 4}
""", Status.IN_PROGRESS, "old replicas: 1"),
    "deployment not all ready (strict, not maxUnavailable)": ("""
kind: Deployment
spec: {replicas: 3, strategy: {rollingUpdate: {maxUnavailable: 1}}}
status: {replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2}
""", Status.IN_PROGRESS, "Ready: 2/3"),
    "deployment default one replica": ("""
kind: Deployment
spec: {}
status: {replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1}
""", Status.CURRENT, "Ready: 1/1"),
    "deployment progress deadline exceeded": ("""
kind: Deployment
spec: {replicas: 1}
status:
  conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded,
                message: ReplicaSet "web-1" has timed out progressing.}]
""", Status.FAILED, "ProgressDeadlineExceeded"),
    "deployment paused": ("""
kind: Deployment
spec: {replicas: 1, paused: true}
status: {replicas: 1}
""", Status.IN_PROGRESS, "paused"),
    "deployment scaled to zero": ("""
kind: Deployment
spec: {replicas: 0}
status: {}
""", Status.CURRENT, "Ready: 0/0"),
    "deployment terminating": ("""
kind: Deployment
metadata: {deletionTimestamp: "2026-11-26T12:00:00Z"}
""", Status.TERMINATING, "being deleted"),
    "statefulset rolling update done": ("""
kind: StatefulSet
spec: {replicas: 2}
status: {readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, currentRevision: r2, updateRevision: r2}
""", Status.CURRENT, "Ready: 2/2"),
    "statefulset revision not rolled": ("""
kind: StatefulSet
spec: {replicas: 2}
status: {readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1, currentRevision: r1, updateRevision: r2}
""", Status.IN_PROGRESS, "updated: 1/2"),
    "statefulset partition reached": ("""
kind: StatefulSet
spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}
status: {readyReplicas: 3, availableReplicas: 3, updatedReplicas: 1, currentRevision: r1, updateRevision: r2}
""", Status.CURRENT, "partitioned"),
    "statefulset on delete": ("""
kind: StatefulSet
spec: {replicas: 1, updateStrategy: {type: OnDelete}}
status: {readyReplicas: 1, availableReplicas: 1, currentRevision: r1, updateRevision: r2}
""", Status.CURRENT, "OnDelete"),
    "daemonset done": ("""
kind: DaemonSet
status: {desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2}
""", Status.CURRENT, "Ready: 2/2"),
    "daemonset updating": ("""
kind: DaemonSet
status: {desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2, numberReady: 2}
""", Status.IN_PROGRESS, "updated: 1/2"),
    "replicaset failure": ("""
kind: ReplicaSet
spec: {replicas: 1}
status: {conditions: [{type: ReplicaFailure, status: "True", reason: FailedCreate, message: quota exceeded}]}
""", Status.FAILED, "quota exceeded"),
    "job complete": ("""
kind: Job
spec: {completions: 1}
status: {succeeded: 1, conditions: [{type: Complete, status: "True"}]}
""", Status.CURRENT, "Complete"),
    "job failed": ("""
kind: Job
status: {failed: 1, conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded,
                                  message: Job has reached the specified backoff limit}]}
""", Status.FAILED, "BackoffLimitExceeded"),
    "job running": ("""
kind: Job
status: {active: 1}
""", Status.IN_PROGRESS, "active: 1"),
    "pod ready": ("""
kind: Pod
status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
""", Status.CURRENT, "Ready"),
    "pod succeeded": ("kind: Pod\nstatus: {phase: Succeeded}\n", Status.CURRENT, "Succeeded"),
    "pod failed": ("kind: Pod\nstatus: {phase: Failed, reason: Evicted, message: low memory}\n", Status.FAILED,
                   "Evicted"),
    "custom resource ready": ("""
kind: Certificate
status: {conditions: [{type: Ready, status: "True"}]}
""", Status.CURRENT, "Ready"),
    "custom resource not ready": ("""
kind: Certificate
status: {conditions: [{type: Ready, status: "False", reason: Pending, message: waiting for issuer}]}
""", Status.IN_PROGRESS, "waiting for issuer"),
    "custom resource stalled": ("""
kind: Kustomization
status: {conditions: [{type: Stalled, status: "True", reason: BuildFailed, message: bad path}]}
""", Status.FAILED, "BuildFailed"),
    "custom resource reconciling": ("""
kind: Kustomization
status: {conditions: [{type: Reconciling, status: "True", message: applying}]}
""", Status.IN_PROGRESS, "applying"),
    "no conditions: existence is enough": ("kind: Widget\nspec: {}\n", Status.CURRENT, "exists"),
}


@pytest.mark.parametrize("name", CASES)
def test_compute(name: str) -> None:
    text, status, words = CASES[name]
    result = compute(yaml.safe_load(text))
    assert result.status is status, result
    assert words in result.message


def test_not_found() -> None:
    assert compute(None).status is Status.NOT_FOUND


def pod(started_seconds_ago: float, **status: object) -> dict:
    start = (NOW - timedelta(seconds=started_seconds_ago)).isoformat().replace("+00:00", "Z")
    return {"kind": "Pod", "metadata": {"name": "web-1"}, "status": {"startTime": start, **status}}


def waiting(reason: str, message: str = "", **extra: object) -> dict:
    return {"containerStatuses": [{"name": "main", "state": {"waiting": {"reason": reason, "message": message}},
                                   **extra}]}


@pytest.mark.parametrize(("age", "reason", "message", "final"), [
    (1, "CrashLoopBackOff", "", True),
    (1, "ErrImageNeverPull", "", True),
    (1, "ErrImagePull", "rpc error: ... registry.example/app:1: not found", True),
    (1, "ErrImagePull", "dial tcp: lookup registry.example: no such host", True),
    (1, "ErrImagePull", "context deadline exceeded", False),
    (40, "ErrImagePull", "context deadline exceeded", True),
    (5, "ImagePullBackOff", "Back-off pulling image", False),
    (31, "ImagePullBackOff", "Back-off pulling image", True),
    (5, "CreateContainerConfigError", 'configmap "cfg" not found', False),
    (11, "CreateContainerConfigError", 'configmap "cfg" not found', True),
    (100, "ContainerCreating", "", None),
])
def test_pod_evidence_and_grace_windows(age: float, reason: str, message: str, final: bool | None) -> None:
    problems = pod_problems(pod(age, **waiting(reason, message)), NOW)
    if final is None:
        assert problems == []
        return
    [problem] = problems
    assert problem.reason == reason and problem.final is final
    assert str(problem).startswith("pod/web-1 container main: " + reason)


def test_crash_loop_names_restarts_and_exit_code() -> None:
    status = waiting("CrashLoopBackOff", restartCount=4,
                     lastState={"terminated": {"exitCode": 3, "reason": "Error"}})
    [problem] = pod_problems(pod(30, **status), NOW)
    assert problem.message == "restarted 4 times; last exit code 3 (Error)"


def test_unschedulable_after_grace() -> None:
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "0/1 nodes are available: 1 Insufficient cpu."}]
    assert not pod_problems(pod(10, conditions=conditions), NOW)[0].final
    [problem] = pod_problems(pod(31, conditions=conditions), NOW)
    assert problem.final and "Insufficient cpu" in str(problem)


@pytest.mark.parametrize(("status", "words"), [
    (waiting("ContainerCreating"), "waiting: ContainerCreating"),
    ({"containerStatuses": [{"name": "main", "ready": False, "state": {"running": {}}}]},
     "running but not ready (readiness probe failing)"),
    ({"containerStatuses": [{"name": "main", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]},
     "terminated: OOMKilled (exit 137)"),
])
def test_why_not_ready(status: dict, words: str) -> None:
    assert words in why_not_ready(pod(5, **status))
