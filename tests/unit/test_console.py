"""Progress while verify waits: redraw only on a capable terminal, a heartbeat in CI, NO_COLOR honoured."""

from __future__ import annotations

import io
import time

from gate.findings import Outcome, Phase
from gate.objects import ObjectRef
from gate.report.console import LiveProgress
from gate.verify.checks import PENDING, Check, Verdict


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def check(name: str, outcome: Outcome | None, message: str) -> Check:
    return Check(Phase.ROLLOUTS, ObjectRef("Deployment", "shop", name), f"{name} rolled out", "rollout",
                 Verdict(outcome, message))


def test_redraw_only_on_a_tty_whose_term_is_not_dumb_and_colour_only_without_no_color() -> None:
    assert LiveProgress.for_terminal(Terminal(), {"TERM": "xterm"}).redraw
    assert LiveProgress.for_terminal(Terminal(), {"TERM": "xterm"}).color
    assert not LiveProgress.for_terminal(Terminal(), {"TERM": "xterm", "NO_COLOR": "1"}).color
    assert not LiveProgress.for_terminal(Terminal(), {"TERM": "dumb"}).redraw
    assert not LiveProgress.for_terminal(io.StringIO(), {"TERM": "xterm"}).redraw
    stream = Terminal()
    LiveProgress.for_terminal(stream, {"TERM": "xterm", "NO_COLOR": "1"})(check("web", Outcome.PASSED, "3/3"), 1.0)
    assert stream.getvalue() == "\x1b[2K✓ rollouts  deployment/web in namespace shop: 3/3\n"


def test_ci_gets_a_line_per_change_and_a_heartbeat_while_waiting() -> None:
    stream = io.StringIO()
    progress = LiveProgress(stream, redraw=False, heartbeat=0.05)
    with progress.waiting():
        progress(check("a", Outcome.PASSED, "Ready 1/1"), 1.0)
        progress(check("x", PENDING, "Ready 1/3"), 2.0)
        time.sleep(0.2)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[   1.0s] ✓ rollouts  deployment/a in namespace shop: Ready 1/1"
    assert any(line.endswith("] 1/2 checks passed, waiting for deployment/x in namespace shop: Ready 1/3")
               for line in lines[2:])
    with progress.waiting(lambda: "waiting for the probes"):
        time.sleep(0.2)
    assert stream.getvalue().splitlines()[-1].endswith("] waiting for the probes")
    after = stream.getvalue()
    time.sleep(0.1)
    assert stream.getvalue() == after  # the heartbeat stopped with the wait


def test_progress_lines_under_github_actions_cannot_be_commands() -> None:
    stream = io.StringIO()
    progress = LiveProgress.for_terminal(stream, {"GITHUB_ACTIONS": "true"})
    progress(check("x", PENDING, "image ##[add-mask]secret\n::error::x\x1b[2K"), 0.0)
    assert "##[" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert stream.getvalue().count("\n") == 1
