"""The finished run every reporter renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from gate.findings import Finding, Outcome


@dataclass(frozen=True)
class Report:
    command: str  # lint | verify | explain
    findings: tuple[Finding, ...]
    exit_code: int
    seconds: float = 0.0
    strict: bool = False
    notes: tuple[str, ...] = field(default=())  # e.g. files skipped as not Kubernetes

    def count(self) -> dict[str, int]:
        counts = {"errors": 0, "warnings": 0, "passed": 0, "not_checkable": 0}
        for finding in self.findings:
            if finding.is_error:
                counts["errors"] += 1
            elif finding.is_warning:
                counts["warnings"] += 1
            elif finding.outcome is Outcome.PASSED:
                counts["passed"] += 1
            else:
                counts["not_checkable"] += 1
        return counts

    def summary(self) -> str:
        c = self.count()
        verdict = "FAILED" if self.exit_code else "PASSED"
        return (f"{verdict}: {c['errors']} error(s), {c['warnings']} warning(s), {c['passed']} passed, "
                f"{c['not_checkable']} not checkable ({self.seconds:.1f} s)")

