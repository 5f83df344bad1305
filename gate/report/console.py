"""Live progress while `verify` waits, and the final summary table.

On a terminal that can redraw (a TTY whose TERM is not `dumb`) one line per
check is redrawn in place. Otherwise (CI logs, dumb terminals) each state change
is one new line, so a log reads as a timeline, and a heartbeat line every
HEARTBEAT seconds says what is still awaited, so a long wait is never silent.
Colour only when redrawing and NO_COLOR is unset (no-color.org).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol, TextIO

from gate.escape import visible
from gate.findings import Outcome, Phase
from gate.objects import ObjectRef
from gate.report.base import Report
from gate.report.github import neutralise
from gate.report.words import WORDS
from gate.verify.checks import PENDING, Verdict


class Check(Protocol):
    """What a progress line shows of a check (gate/verify/checks.py's Check): it renders, never decides."""

    @property
    def phase(self) -> Phase: ...

    @property
    def ref(self) -> ObjectRef: ...

    @property
    def verdict(self) -> Verdict: ...

HEARTBEAT = 10.0  # seconds between "still waiting" lines without a TTY
_MARK = {PENDING: "…", Outcome.PASSED: "✓", Outcome.FAILED: "✗"}
_COLOR = {PENDING: "", Outcome.PASSED: "\x1b[32m", Outcome.FAILED: "\x1b[31m"}


class LiveProgress:
    """The `progress` callback of a Verification, and the heartbeat of any wait (`waiting`)."""

    def __init__(self, stream: TextIO, redraw: bool, color: bool = False,
                 safe: Callable[[str], str] = str, heartbeat: float = HEARTBEAT) -> None:
        self.stream, self.redraw, self.color, self.safe, self.heartbeat = stream, redraw, color, safe, heartbeat
        self.checks: dict[tuple[Phase, object], Check] = {}
        self.drawn = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    @classmethod
    def for_terminal(cls, stream: TextIO, environ: Mapping[str, str]) -> LiveProgress:
        """Redraw on a capable TTY; colour unless NO_COLOR; under GitHub Actions no line can act as a command."""
        redraw = stream.isatty() and environ.get("TERM", "") != "dumb"
        github = environ.get("GITHUB_ACTIONS") == "true"
        return cls(stream, redraw, redraw and not environ.get("NO_COLOR"), neutralise if github else str)

    @contextmanager
    def waiting(self, describe: Callable[[], str | None] | None = None) -> Iterator[LiveProgress]:
        """While the block runs without redraw, a heartbeat line every `heartbeat` seconds says what is awaited
        (by default the first pending check); it stops before the block's caller prints anything else."""
        if self.redraw:
            yield self
            return
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(describe or self.heartbeat_line, done), daemon=True,
                                   name="progress-heartbeat")
        beating.start()
        try:
            yield self
        finally:
            done.set()
            beating.join()

    def _line(self, check: Check) -> str:
        mark = _MARK[check.verdict.outcome]
        if self.color and _COLOR[check.verdict.outcome]:
            mark = f"{_COLOR[check.verdict.outcome]}{mark}\x1b[0m"
        return f"{mark} {check.phase:<9} " + visible(f"{check.ref.qualified}: {check.verdict.message}")

    def _write(self, text: str) -> None:
        self.stream.write(self.safe(text))
        self.stream.flush()

    def heartbeat_line(self) -> str | None:
        """`3/5 checks passed, waiting for deployment/x in namespace y: Ready 1/3`, or None when nothing waits."""
        checks = list(self.checks.values())
        pending = [c for c in checks if c.verdict.outcome is PENDING]
        if not pending:
            return None
        passed = sum(c.verdict.outcome is Outcome.PASSED for c in checks)
        first = pending[0]
        return visible(f"{passed}/{len(checks)} checks passed, waiting for {first.ref.qualified}: "
                       f"{first.verdict.message}")

    def _beat(self, describe: Callable[[], str | None], done: threading.Event) -> None:
        while not done.wait(self.heartbeat):
            with self.lock:
                line = describe()
                if line:
                    self._write(f"[{time.monotonic() - self.started:6.1f}s] {line}\n")

    def __call__(self, check: Check, elapsed: float) -> None:
        with self.lock:
            self.checks[(check.phase, check.ref)] = check
            if not self.redraw:
                self._write(f"[{elapsed:6.1f}s] {self._line(check)}\n")
                return
            if self.drawn:
                self.stream.write(f"\x1b[{self.drawn}F")
            for known in self.checks.values():
                self.stream.write(f"\x1b[2K{self._line(known)[:200]}\n")
            self.drawn = len(self.checks)
            self.stream.flush()


def summary_table(report: Report) -> str:
    rows = [("RESULT", "PHASE", "CHECK", "OBJECT", "TIME")]
    for finding in report.findings:
        rows.append((WORDS[finding.grade()].console, finding.phase, visible(finding.title),
                     visible(finding.subject.qualified), f"{finding.seconds:.1f}s"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows) + "\n"
