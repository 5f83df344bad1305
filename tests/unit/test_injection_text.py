"""Input-derived text in the text media (stdout report, TTY progress, summary table, stderr errors).

Each payload would, printed raw, add a log line (a forged GitHub workflow
command) or drive the terminal (erase a line, an OSC-8 link). Every medium here
must show it escaped, on the line it belongs to.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.findings import Finding, Outcome, Phase
from gate.objects import ObjectRef
from gate.report import render
from gate.report.base import Report
from gate.report.console import LiveProgress, summary_table
from gate.verify.checks import Check, Verdict

PAYLOADS = [
    "web\n::error file=x.yaml,line=1::forged",
    "web\r\n::add-mask::secret",
    "web\n::stop-commands::token",
    "\x1b[2K\rPASSED: everything",
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "bidi\u202eevil\u2028line\x85next",
]


def assert_clean(text: str, lines: int | None = None) -> None:
    assert "\x1b" not in text and "\r" not in text and "\u2028" not in text and "\x85" not in text
    assert not re.search(r"^::", text, re.M)
    if lines is not None:
        assert len(text.splitlines()) == lines, text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_report(payload: str) -> None:
    finding = Finding("lint", "service-selector", ObjectRef("Service", "shop", payload), payload, Outcome.FAILED,
                      f"service/{payload} selects nothing", evidence=(payload,), fix=(payload,))
    text = render(Report("lint", (finding,), 1, notes=(f"skipped {payload}: no object",)), "text")
    assert_clean(text, lines=5)  # the finding, its evidence and fix, the note, the summary


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("tty", [True, False])
def test_live_progress_and_summary_table(payload: str, tty: bool) -> None:
    stream = io.StringIO()
    check = Check(Phase.ENDPOINTS, ObjectRef("Service", "shop", payload), payload, "endpoints",
                  Verdict(Outcome.FAILED, payload))
    LiveProgress(stream, tty)(check, 1.0)
    drawn = stream.getvalue()
    if tty:  # the redraw's own sequences, and nothing from the input
        drawn = drawn.replace("\x1b[2K", "")
    assert_clean(drawn, lines=1)
    finding = Finding("endpoints", "endpoints", ObjectRef("Service", "shop", payload), payload, Outcome.FAILED, "x")
    assert_clean(summary_table(Report("verify", (finding,), 1)), lines=2)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_lint_end_to_end_duplicate_name(tmp_path: Path, payload: str) -> None:
    """A ConfigMap name is any string to lint; defined twice, the finding quotes it."""
    quoted = payload.encode("unicode_escape").decode().replace('"', '\\"')
    document = f'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "{quoted}"\n'
    (tmp_path / "m.yaml").write_text(document + "---\n" + document)
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "m.yaml")], env={"GITHUB_ACTIONS": None})
    assert result.exit_code == 1, result.output
    assert_clean(result.stdout, lines=2)
    assert "defined 2 times" in result.stdout


@pytest.mark.parametrize("payload", PAYLOADS)
def test_error_line_quotes_input_escaped(tmp_path: Path, payload: str) -> None:
    quoted = payload.encode("unicode_escape").decode().replace('"', '\\"')
    (tmp_path / "m.yaml").write_text(f'apiVersion: v1\nkind: Service\nmetadata: {{name: "{quoted}"}}\n')
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2
    assert_clean(result.stderr, lines=1)
