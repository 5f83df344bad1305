"""Findings: what every check returns and every reporter renders.

A finding is a value, never an exception: the core decides, reporters render.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from gate.errors import EXIT_FAILED, EXIT_OK
from gate.objects import ObjectRef


class Outcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKABLE = "not-checkable"  # the evidence needed is not in the set (e.g. the workload is elsewhere)


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @classmethod
    def parse(cls, text: str | None) -> tuple[Location, ...]:
        """'file:line' as a location; none when text is empty or has no line."""
        file, _, line = (text or "").rpartition(":")
        return (cls(file, int(line)),) if file and line.isdigit() else ()


@dataclass(frozen=True)
class Finding:
    """One check of one object: its outcome and, when it failed, the cause and the fix."""

    phase: str  # lint | rollouts | endpoints | connectivity
    rule: str  # stable id, e.g. service-selector
    subject: ObjectRef
    title: str  # e.g. "inference-api has ready endpoints"
    outcome: Outcome
    message: str  # the one-line cause (or the one-line success)
    severity: Severity = Severity.ERROR
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()  # the first is where the fix goes
    seconds: float = 0.0

    @property
    def is_error(self) -> bool:
        return self.outcome is Outcome.FAILED and self.severity is Severity.ERROR

    @property
    def is_warning(self) -> bool:
        return self.outcome is Outcome.FAILED and self.severity is Severity.WARNING


def exit_code(findings: Iterable[Finding], strict: bool = False) -> int:
    """1 when any error (or, with strict, any warning) failed; else 0."""
    for finding in findings:
        if finding.is_error or (strict and finding.is_warning):
            return EXIT_FAILED
    return EXIT_OK


def by_importance(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then the rest; stable within each group."""
    rank = {(Outcome.FAILED, Severity.ERROR): 0, (Outcome.FAILED, Severity.WARNING): 1}
    return sorted(findings, key=lambda f: rank.get((f.outcome, f.severity), 2))
