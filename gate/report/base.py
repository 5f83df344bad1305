"""The finished run every reporter renders."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import EXIT_INTERRUPTED, EXIT_UNVERIFIABLE, EXIT_USAGE
from gate.escape import visible
from gate.findings import BaselineEntry, Finding, Grade
from gate.location import Location
from gate.report.words import WORDS

# Why a run ended without a verdict, by exit code: the `type` reporters give the error.
ERROR_KINDS = {EXIT_USAGE: "usage-error", EXIT_UNVERIFIABLE: "could-not-verify", EXIT_INTERRUPTED: "interrupted"}
_SURROGATE = re.compile("[\ud800-\udfff]")
# Named in the summary line even at zero; the other grades only when there are some.
ALWAYS_TALLIED = (Grade.ERROR, Grade.WARNING, Grade.PASSED, Grade.NOT_CHECKABLE)


def unicode_text(text: str) -> str:
    """text UTF-8 can encode: a lone surrogate is written as its escape (`\\udcff`), as text and JUnit show it.

    A file name holding a byte that is not UTF-8 reaches Python as a lone surrogate
    (os.fsdecode). UTF-8 cannot encode it, and JSON could carry it only as an
    unpaired `\\udcff` escape that strict parsers refuse.
    """
    return _SURROGATE.sub(lambda match: visible(match.group()), text)


def source_root(root: Path | None) -> Path:
    """The absolute directory report paths are relative to: `root` (--sarif-root, or the git top-level that
    publish finds), else the working directory."""
    return Path(os.path.abspath(root or Path.cwd()))


def repository_path(file: str, root: Path) -> Path | None:
    """The file relative to the absolute `root`, or None when it lies outside: SARIF and GitLab Code Quality
    locate a finding in the checkout by this path."""
    path = Path(os.path.abspath(file))
    return path.relative_to(root) if path.is_relative_to(root) else None


@dataclass(frozen=True)
class Report:
    command: str  # lint | verify | explain
    findings: tuple[Finding, ...]
    exit_code: int
    seconds: float = 0.0
    strict: bool = False
    notes: tuple[str, ...] = field(default=())  # e.g. files skipped as not Kubernetes
    error: str | None = None  # why the run ended without a verdict (exit 2, 3 or 130); then there are no findings
    error_location: Location | None = None  # the input's file:line the error is about, when known
    absent: tuple[BaselineEntry, ...] = ()  # --baseline entries no finding of this run matched any more

    @classmethod
    def unfinished(cls, command: str, exit_code: int, error: str, seconds: float = 0.0,
                   location: Location | None = None) -> Report:
        """A run that could not finish: every format still gets a document saying why, and where."""
        return cls(command, (), exit_code, seconds, error=error, error_location=location)

    @property
    def error_kind(self) -> str:
        return ERROR_KINDS.get(self.exit_code, "internal-error")

    @property
    def error_fingerprint(self) -> str:
        """The identity across runs of an unfinished run's error: its kind and input file, not its wording."""
        identity = "\0".join([self.error_kind, self.error_location.file if self.error_location else ""])
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()

    @property
    def result(self) -> str:
        """success, failure (a check failed) or error (no verdict), as the action's `result` output says."""
        if self.error is not None:
            return "error"
        return "failure" if self.exit_code else "success"

    def count(self) -> dict[str, int]:
        """How many findings of each grade (without --strict: a warning stays a warning), by the grade's word."""
        counts = dict.fromkeys(Grade, 0)
        for finding in self.findings:
            counts[finding.grade()] += 1
        return {WORDS[grade].count: number for grade, number in counts.items()}

    def summary(self) -> str:
        if self.error is not None:
            return f"ERROR: {self.error} (exit {self.exit_code})"
        counts = self.count()
        verdict = "FAILED" if self.exit_code else "PASSED"
        grades = [*ALWAYS_TALLIED, *(grade for grade in Grade if grade not in ALWAYS_TALLIED)]
        tallies = ", ".join(f"{number} {WORDS[grade].tally}" for grade in grades
                            if (number := counts[WORDS[grade].count]) or grade in ALWAYS_TALLIED)
        return f"{verdict}: {tallies} ({self.seconds:.1f} s)"
