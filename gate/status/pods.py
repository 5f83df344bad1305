"""Solid evidence that a rollout will not finish, read from its pods.

Waiting out a deadline when a pod already says why it cannot start wastes
the pipeline's minutes. Each reason has a grace window: 0 where the state is
final (CrashLoopBackOff, an image that does not exist), longer where a moment
can resolve it (a pull still backing off, a pod waiting for a node).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from gate.objects import Object, dig
from gate.schema import rfc3339
from gate.status.result import condition

# Seconds a reason must persist (since the pod started) before it counts as final.
GRACE_SECONDS = {
    "CrashLoopBackOff": 0,
    "ErrImageNeverPull": 0,
    "InvalidImageName": 0,
    "ErrImagePull": 30,
    "ImagePullBackOff": 30,
    "CreateContainerConfigError": 10,
    "CreateContainerError": 10,
    "RunContainerError": 10,
    "Unschedulable": 30,
}
# An ErrImagePull whose message says this is final at once: the image or its registry does not exist.
IMAGE_MISSING = re.compile(r"not found|manifest unknown|does not exist|no such host|repository .* not found|"
                           r"pull access denied|name unknown", re.IGNORECASE)


@dataclass(frozen=True)
class PodProblem:
    pod: str
    container: str | None
    reason: str
    message: str
    final: bool  # past its grace window: the rollout fails now

    def __str__(self) -> str:
        where = f"pod/{self.pod}" + (f" container {self.container}" if self.container else "")
        return f"{where}: {self.reason}" + (f": {self.message}" if self.message else "")


def _age(pod: Object, now: datetime) -> float:
    started = rfc3339(dig(pod, "status", "startTime")) or rfc3339(dig(pod, "metadata", "creationTimestamp"))
    return (now - started).total_seconds() if started else 0.0


def _container_statuses(pod: Object) -> list[Object]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def pod_problems(pod: Object, now: datetime) -> list[PodProblem]:
    """What keeps this pod from running, each marked final once past its grace window."""
    name = dig(pod, "metadata", "name") or ""
    age = _age(pod, now)
    problems = []
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        problems.append(PodProblem(name, None, "Unschedulable", scheduled.get("message") or "",
                                   age >= GRACE_SECONDS["Unschedulable"]))
    for status in _container_statuses(pod):
        container = status.get("name")
        waiting = dig(status, "state", "waiting") or {}
        reason, message = waiting.get("reason"), waiting.get("message") or ""
        if reason in GRACE_SECONDS:
            final = age >= GRACE_SECONDS[reason] or (reason == "ErrImagePull" and bool(IMAGE_MISSING.search(message)))
            if reason == "CrashLoopBackOff":
                last = dig(status, "lastState", "terminated") or {}
                message = (f"restarted {status.get('restartCount', 0)} times; last exit code "
                           f"{last.get('exitCode', '?')} ({last.get('reason', 'unknown')})")
            problems.append(PodProblem(name, container, reason, message, final))
    return problems


def why_not_ready(pod: Object) -> str:
    """One line on why a pod that matches a Service is not Ready (for endpoint diagnosis)."""
    name = dig(pod, "metadata", "name") or ""
    if dig(pod, "metadata", "deletionTimestamp"):
        return f"pod/{name} is terminating"
    for status in _container_statuses(pod):
        waiting = dig(status, "state", "waiting")
        if waiting:
            return f"pod/{name} container {status.get('name')} waiting: {waiting.get('reason')}" + \
                (f": {waiting['message']}" if waiting.get("message") else "")
        terminated = dig(status, "state", "terminated")
        if terminated:
            return f"pod/{name} container {status.get('name')} terminated: {terminated.get('reason')} " \
                   f"(exit {terminated.get('exitCode')})"
        if status.get("ready") is False and "running" in (status.get("state") or {}):
            return f"pod/{name} container {status.get('name')} running but not ready (readiness probe failing)"
    ready = condition(pod, "Ready") or {}
    return f"pod/{name} not Ready: {ready.get('reason') or dig(pod, 'status', 'phase') or 'Pending'}"
