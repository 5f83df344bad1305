"""Live progress while `verify` waits, and the final summary table.

On a TTY one line per check is redrawn in place; without one (CI logs) each
state change is one new line, so a log reads as a timeline.
"""

from __future__ import annotations

from typing import TextIO

from gate.escape import visible
from gate.findings import Outcome
from gate.report.base import Report
from gate.rollouts import State
from gate.verify import Check

_MARK = {State.PENDING: "…", State.PASSED: "✓", State.FAILED: "✗"}


class LiveProgress:
    def __init__(self, stream: TextIO, tty: bool) -> None:
        self.stream, self.tty = stream, tty
        self.lines: dict[tuple[str, object], str] = {}
        self.drawn = 0

    def __call__(self, check: Check, elapsed: float) -> None:
        line = visible(f"{_MARK[check.verdict.state]} {check.phase:<9} {check.ref.qualified}: "
                       f"{check.verdict.message}")
        if not self.tty:
            self.stream.write(f"[{elapsed:6.1f}s] {line}\n")
            self.stream.flush()
            return
        self.lines[(check.phase, check.ref)] = line
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F")
        for text in self.lines.values():
            self.stream.write(f"\x1b[2K{text[:200]}\n")
        self.drawn = len(self.lines)
        self.stream.flush()


def summary_table(report: Report) -> str:
    rows = [("RESULT", "PHASE", "CHECK", "OBJECT", "TIME")]
    for finding in report.findings:
        result = {Outcome.PASSED: "passed", Outcome.NOT_CHECKABLE: "skipped"}.get(finding.outcome, "FAILED")
        rows.append((result, finding.phase, visible(finding.title), visible(finding.subject.qualified),
                     f"{finding.seconds:.1f}s"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows) + "\n"
