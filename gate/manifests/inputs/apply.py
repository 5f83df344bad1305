"""`verify --from-apply`: the touched set from what `kubectl apply` printed."""

from __future__ import annotations

import re

from gate.errors import ManifestError
from gate.kinds import kind_named
from gate.manifests.positions import ManifestSet
from gate.manifests.validation import check_kinds, objects
from gate.manifests.yaml_go import parse_documents

# `kubectl apply -o name` (deployment.apps/web) or its default output (deployment.apps/web configured);
# with --prune, `deployment.apps/old pruned` for each object it deleted.
_APPLIED = re.compile(r"([a-z0-9.-]+)/(\S+)(?: (created|configured|unchanged|serverside-applied|pruned))?")
PRUNED = "pruned"
_APPLY_ERRORS = ("Error from server", "error:", "Error:")


def parse_apply_output(text: str, name: str) -> list[tuple[str, str]] | ManifestSet:
    """The touched set from `kubectl apply` output: (kind, name) from `-o name` lines, or `-o yaml|json` objects.

    `-o name` carries no namespace: the caller supplies the run's, as kubectl used it.
    An apply that printed an error failed, and a run with no object has nothing to verify.
    A pruned object (`--prune`) was deleted: it is no part of the touched set.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Warning:")]
    errors = [line for line in lines if line.startswith(_APPLY_ERRORS)]
    if errors:
        more = f" (and {len(errors) - 1} more error line(s))" if len(errors) > 1 else ""
        raise ManifestError(f"{name}: the apply failed: {errors[0]}{more}")
    if any(line.endswith("dry run)") for line in lines):
        raise ManifestError(f"{name}: the apply was a dry run; nothing was applied to verify")
    applied = [_APPLIED.fullmatch(line) for line in lines]
    if lines and all(applied):
        touched = [(kind_named(m.group(1)) or m.group(1).split(".", 1)[0], m.group(2)) for m in applied
                   if m and m.group(3) != PRUNED]
        if not touched:
            raise ManifestError(f"nothing to verify: the apply only pruned objects ({name})")
        return touched
    result = ManifestSet()
    for data, line, node in parse_documents(text, name):
        result.manifests.extend(objects(data, line, node, name))
    if not result.manifests:
        raise ManifestError(f"nothing to verify: the apply output holds no object ({name})")
    check_kinds(result.manifests)
    return result


