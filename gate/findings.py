"""Findings: what every check returns and every reporter renders.

A finding is a value, never an exception: the core decides, reporters render.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum

from gate.errors import EXIT_FAILED, EXIT_OK
from gate.location import Location
from gate.objects import ObjectRef


class Phase(StrEnum):
    """Where a check runs, in the order a run reports them; the words JSON, JUnit and metrics print."""

    LINT = "lint"
    ROLLOUTS = "rollouts"
    ENDPOINTS = "endpoints"
    CONNECTIVITY = "connectivity"


class Outcome(Enum):
    """What a check found: its producer's answer, before severity, suppression and --strict (see Grade)."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKABLE = "not-checkable"  # the evidence needed is not in the set (e.g. the workload is elsewhere)


class Severity(Enum):
    """How much a rule's failure counts (the catalog's, or gate.yaml `rules:`): an input of Grade, not a state."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # a failure shown and counted, that fails no run, not even with --strict (gate.yaml `rules:`)


class Grade(Enum):
    """What a finding means for the run: the one state every reporter renders (words: gate/report/words.py).

    Computed once, by Finding.grade, from the outcome, the severity, the suppression and --strict. Declared
    most important first: by_importance sorts the failures in this order.
    """

    ERROR = "error"  # a failure that fails the run
    WARNING = "warning"  # a failure shown and counted, that fails the run only with --strict
    NOTE = "note"  # a failure shown and counted, that fails no run
    SUPPRESSED = "suppressed"  # a failure that does not count, and says why (Finding.suppression)
    PASSED = "passed"
    NOT_CHECKABLE = "not-checkable"

    @property
    def failed(self) -> bool:
        """Whether the check failed, counting or not."""
        return self in (Grade.ERROR, Grade.WARNING, Grade.NOTE, Grade.SUPPRESSED)

    @property
    def counts(self) -> bool:
        """A failure that counts (error, warning, note): what the text shows without -v, annotations and Code
        Quality report."""
        return self.failed and self is not Grade.SUPPRESSED


_SEVERITY_GRADE = {Severity.ERROR: Grade.ERROR, Severity.WARNING: Grade.WARNING, Severity.NOTE: Grade.NOTE}
_UNFAILED_GRADE = {Outcome.PASSED: Grade.PASSED, Outcome.NOT_CHECKABLE: Grade.NOT_CHECKABLE}


@dataclass(frozen=True)
class Suppression:
    """Why a failed check does not count: SARIF's suppression, shown by every reporter, never silent."""

    kind: str  # inSource (the object's annotation) | external (gate.yaml `rules:`, a baseline)
    justification: str  # the reason, as the user wrote it or as deploy-gate states it


@dataclass(frozen=True)
class Finding:
    """One check of one object: its outcome and, when it failed, the cause and the fix."""

    phase: Phase
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

    def __post_init__(self) -> None:
        """A phase given as its word is that Phase (an unknown word is a ValueError): JSON, JUnit and metrics
        print the word, and a misspelt phase cannot become a suite or a label of its own."""
        object.__setattr__(self, "phase", Phase(self.phase))

    def grade(self, strict: bool = False) -> Grade:
        """What this finding means for the run: the one place severity, suppression and --strict are decided.

        --strict makes a warning an error, nothing else: a note or a suppressed failure never fails a run.
        """
        if self.outcome is not Outcome.FAILED:
            return _UNFAILED_GRADE[self.outcome]
        if self.suppression is not None:
            return Grade.SUPPRESSED
        grade = _SEVERITY_GRADE[self.severity]
        return Grade.ERROR if strict and grade is Grade.WARNING else grade

    @property
    def is_error(self) -> bool:
        return self.grade() is Grade.ERROR

    @property
    def is_warning(self) -> bool:
        return self.grade() is Grade.WARNING

    def fails(self, strict: bool = False) -> bool:
        """Whether this finding fails the run (exit code 1)."""
        return self.grade(strict) is Grade.ERROR


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
    """Failures in Grade's order (errors, warnings, notes, suppressed), then the rest; stable within each group."""
    order = list(Grade)
    return sorted(findings, key=lambda f: order.index(grade) if (grade := f.grade()).failed else len(order))


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
