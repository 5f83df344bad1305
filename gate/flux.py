"""The touched set of a Flux Kustomization: its inventory, once it has applied the revision it last attempted.

kustomize-controller records every object it applied in `status.inventory.entries` (fluxcd/cli-utils ids,
`<namespace>_<name>_<group>_<kind>`, and the version). It sets `lastAttemptedRevision` when it starts on a
revision and `lastAppliedRevision` only once that revision is applied and, with `wait: true`, healthy; `Ready`
is Unknown while it works. So the gate waits until the two revisions agree and `Ready` is decided, within the
rollout deadline. The object is read from the cluster: untrusted, its shape is checked (gate/schema.py) first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gate.cluster import Cluster, Resource
from gate.errors import ClusterError, ManifestError, UsageError
from gate.findings import Finding, Outcome
from gate.objects import Object, ObjectRef, dig, kind_group
from gate.schema import FLUX_INVENTORY_ID, FLUX_KUSTOMIZATION, validate_live
from gate.verify.engine import Touched

KUSTOMIZATIONS = Resource("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
RULE = "flux-kustomization"
POLL_SECONDS = 1.0
# Ready=False reasons that are not a verdict: kustomize-controller retries them by itself.
RETRIED_REASONS = ("DependencyNotReady",)
# The one Ready=False reason after which the inventory holds the attempted revision's objects (the controller
# records it before its health checks): verifying them names the cause behind Flux's message.
HEALTH_CHECK_FAILED = "HealthCheckFailed"


class State(Enum):
    APPLIED = "applied"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class Judgement:
    state: State
    message: str
    inventory_current: bool = False  # the inventory lists the objects of the revision judged


def _ready(kustomization: Object) -> dict[str, object] | None:
    for condition in dig(kustomization, "status", "conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def judge(kustomization: Object) -> Judgement:
    """Applied, still pending (and why), or failed with Flux's own reason and message; from one read."""
    ready = _ready(kustomization)
    generation = dig(kustomization, "metadata", "generation")
    suspended = " (it is suspended: spec.suspend)" if dig(kustomization, "spec", "suspend") else ""
    if ready is None or ready.get("status") not in ("True", "False"):
        said = f": {ready.get('message')}" if ready and ready.get("message") else ""
        return Judgement(State.PENDING, f"Ready is {'not set' if ready is None else 'Unknown'}{said}{suspended}")
    observed = ready.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return Judgement(State.PENDING, f"the controller has not reconciled generation {generation} yet "
                                        f"(Ready is of generation {observed}){suspended}")
    reason, message = ready.get("reason") or "", ready.get("message") or ""
    if ready["status"] == "False":
        if reason in RETRIED_REASONS:
            return Judgement(State.PENDING, f"{reason}: {message}{suspended}")
        return Judgement(State.FAILED, f"not Ready ({reason}): {message}", reason == HEALTH_CHECK_FAILED)
    applied = dig(kustomization, "status", "lastAppliedRevision") or ""
    attempted = dig(kustomization, "status", "lastAttemptedRevision") or ""
    if applied != attempted:
        return Judgement(State.PENDING, f"applied revision {applied or '(none)'}, not yet the attempted "
                                        f"{attempted}{suspended}")
    return Judgement(State.APPLIED, f"applied revision {applied}", True)


def inventory(kustomization: Object) -> list[Touched]:
    """The inventory as touched objects. The ids were checked against FLUX_INVENTORY_ID by validate_live."""
    touched = []
    for entry in dig(kustomization, "status", "inventory", "entries") or []:
        parts = FLUX_INVENTORY_ID.fullmatch(entry["id"])
        assert parts is not None  # validate_live checked every id
        group, kind = parts["group"] or "", parts["kind"]
        name = parts["name"].replace("__", ":")  # fluxcd/cli-utils writes an RBAC name's ':' as '__'
        api_version = f"{group}/{entry['v']}" if group else entry["v"]
        touched.append(Touched(ObjectRef(kind, parts["namespace"], name, kind_group(kind, api_version)),
                               api_version))
    return touched


def kustomization_resources(cluster: Cluster, name: str, namespace: str, until: float,
                            sleep: Callable[[float], object] = time.sleep) -> tuple[list[Touched], Finding]:
    """The inventory of Kustomization `name` once it has applied what it attempted (waiting up to `until`,
    time.monotonic()), with the Kustomization's own check: passed, or failed with Flux's message (then the
    inventory only when it holds the failed revision's objects)."""
    try:
        cluster.resource_for(KUSTOMIZATIONS.kind, KUSTOMIZATIONS.api_version, "--flux-kustomization")
    except ManifestError as error:
        raise ClusterError("the cluster does not serve kustomize.toolkit.fluxcd.io/v1 Kustomizations "
                           "(is Flux installed?)") from error
    subject = ObjectRef(KUSTOMIZATIONS.kind, namespace, name, KUSTOMIZATIONS.group)
    started = time.monotonic()
    cluster.bound(until)
    try:
        while True:
            kustomization = cluster.get(KUSTOMIZATIONS, namespace, name)
            if kustomization is None:
                raise UsageError(f"--flux-kustomization: no Kustomization {name!r} in namespace {namespace}")
            validate_live(kustomization, KUSTOMIZATIONS.kind, FLUX_KUSTOMIZATION)
            judgement = judge(kustomization)
            if judgement.state is not State.PENDING:
                break
            if time.monotonic() + POLL_SECONDS >= until:
                judgement = Judgement(State.FAILED, f"not applied within the rollout deadline: {judgement.message}")
                break
            sleep(POLL_SECONDS)
    finally:
        cluster.bound(None)
    touched = inventory(kustomization) if judgement.inventory_current else []
    if judgement.state is State.APPLIED and not touched:
        raise UsageError(f"--flux-kustomization: Kustomization {namespace}/{name} lists no objects in "
                         "status.inventory.entries")
    passed = judgement.state is State.APPLIED
    return touched, Finding("rollouts", RULE, subject, f"{subject} applied its last attempted revision",
                            Outcome.PASSED if passed else Outcome.FAILED,
                            f"{subject.qualified}: {judgement.message}", seconds=time.monotonic() - started)
