"""Apply the fixes deploy-gate prints (`kubectl patch --type=json`, or a new object piped to `kubectl apply -f -`)
to a set of objects, as a shell and the API server would.

Tests use it to prove a fix fixes: apply it, lint again, and see the finding gone with no new one.
"""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any


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


def _commands(command: str) -> list[list[list[str]]]:
    """The command line as the shell reads it: `&&`-joined commands, each a pipeline of stages' words."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|&")
    lexer.whitespace_split = True
    commands: list[list[list[str]]] = [[[]]]
    for token in lexer:
        if token == "&&":
            commands.append([[]])
        elif token == "|":
            commands[-1].append([])
        else:
            assert token.strip("|&"), f"not a pipeline or a `&&` list: {command}"
            commands[-1][-1].append(token)
    return commands


def apply_fix(objects: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """The set after `command`: patches of objects that must exist, or a new object `kubectl apply -f -` reads."""
    for stages in _commands(command):
        objects = _apply_one(objects, stages)
    return objects


def _apply_one(objects: list[dict[str, Any]], stages: list[list[str]]) -> list[dict[str, Any]]:
    command = " | ".join(" ".join(words) for words in stages)
    if len(stages) == 2:
        assert stages[0][:2] == ["printf", "%s\\n"] and stages[1] == ["kubectl", "apply", "-f", "-"], command
        return [*objects, json.loads(stages[0][2])]
    [words] = stages
    assert words[:2] == ["kubectl", "patch"] and "--type=json" in words, f"not a kubectl JSON patch: {command}"
    kind, name = words[2:4]
    namespace = words[words.index("-n") + 1] if "-n" in words else None
    operations = json.loads(next(word for word in words if word.startswith("-p="))[3:])
    patched, found = [], False
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj["kind"].lower() == kind and meta.get("name") == name and \
                (namespace is None or meta.get("namespace", "default") == namespace):
            patched.append(apply_json_patch(obj, operations))
            found = True
        else:
            patched.append(obj)
    assert found, f"the fix patches {kind}/{name}, which is not in the set"
    return patched
