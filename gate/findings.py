"""Findings: what every check returns and every reporter renders.

A finding is a value, never an exception: the core decides, reporters render.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from gate.errors import EXIT_FAILED, EXIT_OK
from gate.location import Location
from gate.objects import ObjectRef


class Outcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKABLE = "not-checkable"  # the evidence needed is not in the set (e.g. the workload is elsewhere)


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # a failure shown and counted, that fails no run, not even with --strict (gate.yaml `rules:`)


@dataclass(frozen=True)
class Suppression:
    """Why a failed check does not count: SARIF's suppression, shown by every reporter, never silent."""

    kind: str  # inSource (the object's annotation) | external (gate.yaml `rules:`, a baseline)
    justification: str  # the reason, as the user wrote it or as deploy-gate states it


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
    suppression: Suppression | None = None  # a failure that does not count (gate/suppressions.py decides)
    baseline: str | None = None  # new | unchanged: how a failure compares with --baseline, when one is given

    @property
    def is_suppressed(self) -> bool:
        return self.outcome is Outcome.FAILED and self.suppression is not None

    @property
    def is_error(self) -> bool:
        return self.outcome is Outcome.FAILED and self.severity is Severity.ERROR and self.suppression is None

    @property
    def is_warning(self) -> bool:
        return self.outcome is Outcome.FAILED and self.severity is Severity.WARNING and self.suppression is None

    @property
    def is_note(self) -> bool:
        return self.outcome is Outcome.FAILED and self.severity is Severity.NOTE and self.suppression is None

    def fails(self, strict: bool = False) -> bool:
        """Whether this finding fails the run: the one place strictness is decided (exit code and reporters)."""
        return self.is_error or (strict and self.is_warning)


def exit_code(findings: Iterable[Finding], strict: bool = False) -> int:
    """1 when any error (or, with strict, any warning) failed; else 0. A suppressed failure or a note never fails."""
    return EXIT_FAILED if any(finding.fails(strict) for finding in findings) else EXIT_OK


def fingerprint(finding: Finding) -> str:
    """The finding's identity across runs: rule, object and check, never a line, count or pod name that moves.

    SARIF's partialFingerprints and the baseline file both use it.
    """
    subject = finding.subject
    identity = "\0".join([finding.rule, subject.kind, subject.namespace or "", subject.name, finding.title])
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def by_importance(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes, then suppressed failures, then the rest; stable within each group."""
    return sorted(findings, key=lambda f: 0 if f.is_error else 1 if f.is_warning else 2 if f.is_note
                  else 3 if f.is_suppressed else 4)


@dataclass(frozen=True)
class BaselineEntry:
    """A failure recorded in a baseline file (`--write-baseline`): matched by fingerprint, the rest is for people."""

    rule: str
    fingerprint: str
    subject: str  # namespace/Kind/name, as SARIF's logical location
    message: str


def subject_path(subject: ObjectRef) -> str:
    """`namespace/Kind/name` (`Kind/name` when cluster-scoped): SARIF's fullyQualifiedName and a baseline's subject."""
    return "/".join(part for part in (subject.namespace, subject.kind, subject.name) if part)
