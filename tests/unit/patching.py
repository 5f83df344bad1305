"""Apply the `kubectl patch ... --type=json` fixes deploy-gate suggests to a set of objects, as the API server would.

Tests use it to prove a fix fixes: apply it, lint again, and see the finding gone with no new one.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from typing import Any

PATCH = re.compile(r"kubectl patch (?P<kind>\S+) (?P<name>\S+)(?: -n (?P<namespace>\S+))? --type=json -p=(?P<ops>'.*')")


def _steps(pointer: str) -> list[str]:
    return [step.replace("~1", "/").replace("~0", "~") for step in pointer.lstrip("/").split("/")]


def apply_json_patch(obj: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add/replace/remove, enough for the fixes deploy-gate writes."""
    result = copy.deepcopy(obj)
    for operation in operations:
        *parents, last = _steps(operation["path"])
        target: Any = result
        for step in parents:
            target = target[int(step)] if isinstance(target, list) else target[step]
        if operation["op"] == "remove":
            del target[int(last) if isinstance(target, list) else last]
        elif isinstance(target, list):
            target.append(operation["value"]) if last == "-" else target.insert(int(last), operation["value"])
        elif operation["op"] == "replace" and last not in target:
            raise KeyError(f"replace of a missing member {operation['path']}")
        else:
            target[last] = copy.deepcopy(operation["value"])
    return result


def apply_fix(objects: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """The set after `command` (one `kubectl patch` line); the patched object must exist."""
    match = PATCH.fullmatch(command.strip())
    assert match, f"not a kubectl JSON patch: {command}"
    operations = json.loads(shlex.split(match["ops"])[0])
    patched, found = [], False
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj["kind"].lower() == match["kind"] and meta.get("name") == match["name"] and \
                (match["namespace"] is None or meta.get("namespace", "default") == match["namespace"]):
            patched.append(apply_json_patch(obj, operations))
            found = True
        else:
            patched.append(obj)
    assert found, f"the fix patches {match['kind']}/{match['name']}, which is not in the set"
    return patched
