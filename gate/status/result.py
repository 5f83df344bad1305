"""The value every status rule returns, and condition helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from gate.objects import Object, dig


class Status(Enum):
    IN_PROGRESS = "InProgress"
    CURRENT = "Current"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"


@dataclass(frozen=True)
class Result:
    status: Status
    message: str
    evidence: tuple[str, ...] = field(default=())


def condition(obj: Object, kind: str) -> Object | None:
    for entry in dig(obj, "status", "conditions") or []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry
    return None


def is_true(obj: Object, kind: str) -> bool:
    entry = condition(obj, kind)
    return entry is not None and entry.get("status") == "True"
