"""Per-kind rollout rules, mirroring what each controller reports.

Deployments are strict (unlike helm's maxUnavailable rule): every replica
updated, available and Ready, and no old replica left. The controller sources
these follow: pkg/controller/deployment/util (DeploymentComplete),
kubectl's rollout status viewers (StatefulSet partitions, DaemonSet counts),
Argo Rollouts' utils/rollout (GetRolloutPhase). gate.kinds names each kind's rule.
"""

from __future__ import annotations

from gate.objects import Object, dig
from gate.status.result import Result, Status, condition, is_true


def _replicas(obj: Object) -> int:
    value = dig(obj, "spec", "replicas")
    return 1 if value is None else int(value)


def _count(obj: Object, field: str) -> int:
    return int(dig(obj, "status", field) or 0)


def deployment(obj: Object) -> Result:
    progressing = condition(obj, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Result(Status.FAILED, f"ProgressDeadlineExceeded: {progressing.get('message', '')}".strip())
    if dig(obj, "spec", "paused"):
        return Result(Status.IN_PROGRESS, "rollout is paused (kubectl rollout resume)")
    want = _replicas(obj)
    updated, ready = _count(obj, "updatedReplicas"), _count(obj, "readyReplicas")
    available, total = _count(obj, "availableReplicas"), _count(obj, "replicas")
    message = f"Ready: {ready}/{want}, updated: {updated}/{want}, available: {available}/{want}"
    if total > updated:
        return Result(Status.IN_PROGRESS, f"{message}, old replicas: {total - updated}")
    if updated < want or ready < want or available < want:
        return Result(Status.IN_PROGRESS, message)
    return Result(Status.CURRENT, message)


def statefulset(obj: Object) -> Result:
    want = _replicas(obj)
    ready, updated = _count(obj, "readyReplicas"), _count(obj, "updatedReplicas")
    available = int(dig(obj, "status", "availableReplicas") if dig(obj, "status", "availableReplicas")
                    is not None else ready)
    message = f"Ready: {ready}/{want}, available: {available}/{want}"
    if ready < want or available < want:
        return Result(Status.IN_PROGRESS, message)
    strategy = dig(obj, "spec", "updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return Result(Status.CURRENT, f"{message} (OnDelete: pods update only when deleted)")
    partition = int(dig(strategy, "rollingUpdate", "partition") or 0)
    if partition:
        if updated < want - partition:
            return Result(Status.IN_PROGRESS, f"{message}, updated: {updated}/{want - partition} (partition "
                                              f"{partition})")
        return Result(Status.CURRENT, f"{message}, partitioned rollout: {updated} updated")
    if dig(obj, "status", "updateRevision") != dig(obj, "status", "currentRevision") or updated < want:
        return Result(Status.IN_PROGRESS, f"{message}, updated: {updated}/{want}")
    return Result(Status.CURRENT, message)


def daemonset(obj: Object) -> Result:
    desired = _count(obj, "desiredNumberScheduled")
    updated, available = _count(obj, "updatedNumberScheduled"), _count(obj, "numberAvailable")
    ready = _count(obj, "numberReady")
    message = f"Ready: {ready}/{desired}, updated: {updated}/{desired}, available: {available}/{desired}"
    on_delete = (dig(obj, "spec", "updateStrategy", "type") == "OnDelete")
    if (not on_delete and updated < desired) or available < desired or ready < desired:
        return Result(Status.IN_PROGRESS, message)
    return Result(Status.CURRENT, message)


def replicaset(obj: Object) -> Result:
    failure = condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return Result(Status.FAILED, f"ReplicaFailure: {failure.get('reason', '')}: {failure.get('message', '')}")
    want = _replicas(obj)
    ready, available = _count(obj, "readyReplicas"), _count(obj, "availableReplicas")
    message = f"Ready: {ready}/{want}, available: {available}/{want}"
    return Result(Status.CURRENT if ready >= want and available >= want else Status.IN_PROGRESS, message)


def job(obj: Object) -> Result:
    if is_true(obj, "Failed"):
        entry = condition(obj, "Failed") or {}
        return Result(Status.FAILED, f"Job failed: {entry.get('reason', '')}: {entry.get('message', '')}")
    succeeded, active = _count(obj, "succeeded"), _count(obj, "active")
    completions = dig(obj, "spec", "completions")
    message = f"succeeded: {succeeded}" + (f"/{completions}" if completions is not None else "") + \
        f", active: {active}, failed: {_count(obj, 'failed')}"
    if is_true(obj, "Complete"):
        return Result(Status.CURRENT, f"Complete ({message})")
    if dig(obj, "spec", "suspend"):
        return Result(Status.IN_PROGRESS, f"suspended ({message})")
    return Result(Status.IN_PROGRESS, message)


def pod(obj: Object) -> Result:
    phase = dig(obj, "status", "phase")
    if phase == "Succeeded":
        return Result(Status.CURRENT, "Succeeded")
    if phase == "Failed":
        reason = dig(obj, "status", "reason") or ""
        return Result(Status.FAILED, f"Failed {reason}: {dig(obj, 'status', 'message') or ''}".strip())
    if phase == "Running" and is_true(obj, "Ready"):
        return Result(Status.CURRENT, "Running and Ready")
    return Result(Status.IN_PROGRESS, f"phase {phase or 'Pending'}, not Ready")


def rollout(obj: Object) -> Result:
    """An Argo Rollout, by the phase its controller computes (Argo Rollouts 1.0+): Healthy once every replica
    is updated and available and every step is done; Degraded when aborted, timed out or invalid; Paused at a
    pause step or by hand. An unpause the controller has not acted on yet is still paused (its
    status.controllerPause stays true until then)."""
    want = _replicas(obj)
    message = f"Ready: {_count(obj, 'readyReplicas')}/{want}, updated: {_count(obj, 'updatedReplicas')}/{want}, " \
              f"available: {_count(obj, 'availableReplicas')}/{want}"
    phase, said = dig(obj, "status", "phase"), dig(obj, "status", "message")
    detail = f"{message}: {said}" if said else message
    if dig(obj, "status", "controllerPause") and not dig(obj, "status", "pauseConditions"):
        return Result(Status.IN_PROGRESS, f"waiting for the rollout to unpause ({message})")
    if phase == "Healthy":
        return Result(Status.CURRENT, message)
    if phase == "Degraded":
        return Result(Status.FAILED, f"Degraded ({detail})")
    if phase == "Paused":
        return Result(Status.IN_PROGRESS, f"paused ({detail}; kubectl argo rollouts promote)")
    if phase == "Progressing":
        return Result(Status.IN_PROGRESS, detail)
    return Result(Status.IN_PROGRESS, f"the Argo Rollouts controller has reported no phase yet ({message})")
