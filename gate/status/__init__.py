"""Rollout status of live objects: a value, never an exception (after kstatus).

`compute(obj)` runs the generic checks (deletion, observedGeneration,
Stalled/Reconciling conditions), then the kind's rule (gate.status.kinds, as
named by its gate.kinds spec), then a condition-based default for every other kind.
"""

from __future__ import annotations

from gate.kinds import spec_for
from gate.objects import Object, dig
from gate.status import kinds as rules
from gate.status.result import Result, Status, condition, is_true

__all__ = ["Result", "Status", "compute", "condition", "is_true"]


STALE = "controller has not observed"


def generic(obj: Object) -> Result | None:
    """Checks that hold for every kind; None when they say nothing."""
    if dig(obj, "metadata", "deletionTimestamp"):
        return Result(Status.TERMINATING, "is being deleted")
    generation = dig(obj, "metadata", "generation")
    observed = dig(obj, "status", "observedGeneration")
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion"))
    if isinstance(observed, str):  # Argo Rollouts' text (gate.kinds generation_text): before v0.10 a hash
        observed = int(observed) if observed.isascii() and observed.isdigit() else None
    if generation is not None and observed is not None and observed < generation:
        return Result(Status.IN_PROGRESS, f"{STALE} generation {generation} yet (observed {observed})")
    if generation is not None and observed is None and known is not None and known.selector_must_match:
        # apps/v1 controllers write observedGeneration on their first sync: none yet means none acted.
        return Result(Status.IN_PROGRESS, f"{STALE} generation {generation} yet (no status)")
    if is_true(obj, "Stalled"):
        entry = condition(obj, "Stalled") or {}
        return Result(Status.FAILED, f"Stalled: {entry.get('reason', '')} {entry.get('message', '')}".strip())
    if is_true(obj, "Reconciling"):
        entry = condition(obj, "Reconciling") or {}
        return Result(Status.IN_PROGRESS, f"Reconciling: {entry.get('message') or entry.get('reason', '')}".strip())
    return None


def default_rule(obj: Object) -> Result:
    """Any other kind: Ready/Available conditions when it has them, else existence is enough."""
    for kind in ("Ready", "Available"):
        entry = condition(obj, kind)
        if entry is None:
            continue
        if entry.get("status") == "True":
            return Result(Status.CURRENT, f"{kind}")
        detail = entry.get("message") or entry.get("reason") or ""
        return Result(Status.IN_PROGRESS, f"{kind}={entry.get('status')}" + (f": {detail}" if detail else ""))
    return Result(Status.CURRENT, "exists")


def compute(obj: Object | None) -> Result:
    """The rollout status of one live object (None: not found in the cluster)."""
    if obj is None:
        return Result(Status.NOT_FOUND, "not found in the cluster (was it applied to this cluster and namespace?)")
    if (result := generic(obj)) is not None:
        return result
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion"))
    return getattr(rules, known.rule)(obj) if known is not None and known.rule else default_rule(obj)
