"""One error funnel (gate.errors.error_handler) for every entry point, every exit code in gate/errors.py, signal
handlers that are the command's only while it runs, and a format registry whose every format renders under
GitHub Actions."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gate import github_action
from gate.cli import main
from gate.errors import (
    EXIT_INTERRUPTED,
    EXIT_UNVERIFIABLE,
    EXIT_USAGE,
    ConfigError,
    Ending,
    OutputError,
    error_handler,
)
from gate.report import FORMATS, Renderer, Report
from gate.report.github import Inert
from gate.report.publish import publish

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "incident-scenario-2"


def funnelled(error: BaseException, report_error: Exception | None = None) -> tuple[int, list[str], list[Ending]]:
    """The exit code, the lines said and the endings reported when `error` stops a command inside the funnel."""
    said: list[str] = []
    reported: list[Ending] = []

    def report(why: Ending) -> None:
        reported.append(why)
        if report_error is not None:
            raise report_error

    with pytest.raises(SystemExit) as exited, error_handler(said.append, report):
        raise error
    return int(exited.value.code or 0), said, reported


def test_a_gate_error_is_its_exit_code_and_one_line_and_a_report() -> None:
    code, said, [why] = funnelled(ConfigError("gate.yaml:3: rules: expected a mapping"))
    assert (code, said) == (EXIT_USAGE, ["deploy-gate: error: gate.yaml:3: rules: expected a mapping"])
    assert (why.exit_code, why.message) == (EXIT_USAGE, "gate.yaml:3: rules: expected a mapping")


def test_a_bug_is_an_internal_error_without_credentials() -> None:
    code, [line], [why] = funnelled(RuntimeError("header b'Bearer s3cr3t-token-value'\n::error::x"))
    assert code == EXIT_UNVERIFIABLE and "s3cr3t" not in line and "\n" not in line
    assert line == ("deploy-gate: internal error: RuntimeError: header b'Bearer <redacted>'\\n::error::x "
                    "(set DEPLOY_GATE_DEBUG=1 for the traceback)")
    assert why.message.startswith("internal error: RuntimeError:")


def test_an_interrupt_is_130() -> None:
    assert funnelled(KeyboardInterrupt())[:2] == (EXIT_INTERRUPTED, ["deploy-gate: interrupted"])


def test_a_report_that_could_not_be_written_is_not_written_again() -> None:
    assert funnelled(OutputError("cannot write --junit j.xml: disk full"))[2] == []


def test_a_report_that_fails_is_said_and_the_run_keeps_its_code() -> None:
    code, said, _ = funnelled(KeyboardInterrupt(), OutputError("cannot write stdout: broken pipe"))
    assert (code, said) == (EXIT_INTERRUPTED, ["deploy-gate: interrupted", "deploy-gate: error: cannot write "
                                                                           "stdout: broken pipe"])


def test_signal_handlers_are_the_commands_only_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test runner (or any caller in the same process) keeps its own SIGTERM and SIGINT handlers."""
    def ours(_signum: int, _frame: object) -> None:
        raise AssertionError("the caller's handler ran inside the command")

    def terminated(*_: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # a cancelled pipeline, mid-run
    monkeypatch.setattr("gate.inputs.load", terminated)
    before = signal.signal(signal.SIGTERM, ours), signal.getsignal(signal.SIGINT)
    try:
        result = CliRunner().invoke(main, ["lint", str(EXAMPLE)])
        assert (result.exit_code, result.stderr) == (EXIT_INTERRUPTED, "deploy-gate: interrupted\n")
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == (ours, before[1])
    finally:
        signal.signal(signal.SIGTERM, before[0])


def test_every_exit_code_lives_in_errors_py() -> None:
    """No module defines an exit code or exits with a number of its own: they all come from gate/errors.py."""
    own_code = re.compile(r"^\s*EXIT_\w+\s*=|sys\.exit\(\d|\.exit\(\d|SystemExit\(\d|return (?:2|3|130)\b", re.M)
    offenders = [f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}"
                 for path in sorted((ROOT / "gate").rglob("*.py")) if path.name != "errors.py"
                 for text in [path.read_text()] for match in own_code.finditer(text)]
    assert offenders == []


def test_the_actions_input_error_goes_through_the_funnel(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INPUT_MODE", "deploy")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with pytest.raises(SystemExit) as exited:
        github_action.main()
    assert exited.value.code == EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        "deploy-gate: error: input mode: expected verify or lint, got 'deploy'",
        "::error title=deploy-gate action%3A usage-error::input mode: expected verify or lint, got 'deploy'"]


def test_the_actions_own_bug_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def cannot_start(*_: object, **__: object) -> None:
        raise OSError(7, "Argument list too long")
    monkeypatch.setenv("INPUT_MODE", "lint")
    monkeypatch.setattr(subprocess, "run", cannot_start)
    with pytest.raises(SystemExit) as exited:
        github_action.main()
    assert exited.value.code == EXIT_UNVERIFIABLE
    assert capsys.readouterr().err.splitlines()[0] == ("deploy-gate: internal error: OSError: [Errno 7] Argument "
                                                       "list too long (set DEPLOY_GATE_DEBUG=1 for the traceback)")


def test_the_output_choices_are_the_registry() -> None:
    for name in ("lint", "verify", "explain"):
        [output] = [p for p in main.commands[name].params if p.name == "output"]
        assert isinstance(output.type, click.Choice) and tuple(output.type.choices) == tuple(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_has_an_escaping_rule_and_renders_under_github_actions(fmt: str) -> None:
    assert isinstance(FORMATS[fmt].inert, Inert)
    result = CliRunner().invoke(main, ["lint", str(EXAMPLE), "-o", fmt],
                                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": None})
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "::error " in result.stderr and not re.search(r"^\s*::", result.stdout, re.M)


def test_a_new_format_brings_its_escaping_rule(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Registering a format is one entry: under GitHub Actions its document is neutralised by its own rule."""
    monkeypatch.setitem(FORMATS, "lines", Renderer(lambda report, _verbose, _root: f"::error::{report.command}\n",
                                                   Inert("##(", "\\:")))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    publish(Report("lint", (), 0), "lines", None)
    assert capsys.readouterr().out == "\\::error::lint\n"
