"""Where a finished report goes: stdout in the chosen format, the JUnit and metrics files, and under GitHub
Actions the annotations and the step summary. Every output is checked before the run's work starts."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NoReturn

import click

from gate.errors import Ending, GateError, error_handler
from gate.outputs import (
    append_text,
    cannot_write,
    check_distinct,
    check_output,
    remove_stale,
    replace_file,
    write_stdout,
)
from gate.report import FORMATS, Report, render
from gate.report.github import annotations, neutralise, summary_markdown


def github() -> bool:
    """Under GitHub Actions: the runner reads workflow commands from stdout and stderr."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def say(text: str) -> None:
    """A line for people on stderr; under GitHub Actions no data in it can read as a workflow command."""
    click.echo(neutralise(text) if github() else text, err=True)


def check_outputs(junit_path: str | None, metrics_path: str | None = None, inputs: Iterable[str] = ()) -> None:
    """Fail before any work when a file the run must write cannot be written (not after printing PASSED),
    or must not be: an input, a directory, a device or a FIFO (gate/outputs.py).

    A missing parent of the JUnit file is created, as before; GitHub creates the
    step summary's directory, and a textfile collector's directory is a mount, so a
    missing one there means a wrong variable or volume.
    """
    outputs = [(junit_path, "--junit", True, False), (metrics_path, "--metrics-file", False, False)]
    if github():
        outputs.append((os.environ.get("GITHUB_STEP_SUMMARY") or None, "GITHUB_STEP_SUMMARY", False, True))
    given = [(path, what, make_parent, appended) for path, what, make_parent, appended in outputs if path]
    inputs = list(inputs)
    for path, what, make_parent, appended in given:
        check_output(path, what, inputs, make_parent, appended)
    check_distinct((path, what) for path, what, _, _ in given)


def _write_junit(report: Report, junit_path: str) -> None:
    replace_file(junit_path, render(report, "junit").encode("utf-8"), make_parent=True)


def _write_metrics(report: Report, metrics_path: str) -> None:
    """Through a temporary file and a rename, so a textfile collector never reads half a file."""
    from prometheus_client import generate_latest

    from gate.report.metrics import registry

    replace_file(metrics_path, generate_latest(registry(report, time.time())))


def write_files(report: Report, junit_path: str | None, metrics_path: str | None) -> None:
    """Each report file asked for, even when another cannot be written; then the first failure, as exit 3."""
    failures: list[GateError] = []
    writers = (("--junit", junit_path, _write_junit), ("--metrics-file", metrics_path, _write_metrics))
    for option, path, write in ((o, p, w) for o, p, w in writers if p):
        with _collect(failures, option, path):
            write(report, path)
    if failures:
        raise failures[0]


def repository_root(start: Path) -> Path:
    """The git top-level above start (a `.git` directory or file), else start: SARIF and Code Quality
    paths are relative to it."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def publish(report: Report, output: str, junit_path: str | None, verbose: bool = False,
            sarif_root: str | None = None, metrics_path: str | None = None, document: str | None = None) -> None:
    """Render the report to stdout, the JUnit and metrics files, and GitHub's annotations and step summary.

    Under GitHub Actions the annotations go to stderr (the runner reads commands
    there too), so a JSON or SARIF document on stdout stays parseable. A run
    without a verdict has said why on stderr already: in text, stdout stays empty. `document`: the command's
    own rendering in `output`. Every output is attempted even when one fails; then the first failure.
    """
    failures: list[GateError] = []
    if document is None and (report.error is None or output != "text"):
        root = Path(sarif_root) if sarif_root else repository_root(Path.cwd())
        document = render(report, output, verbose, root)
    if document is not None:
        with _collect(failures):
            write_stdout(neutralise(document, FORMATS[output].inert) if github() else document)
    with _collect(failures):
        write_files(report, junit_path, metrics_path)
    if github():
        for line in annotations(report):
            click.echo(line, err=True)
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            with _collect(failures, "GITHUB_STEP_SUMMARY", summary_file):
                append_text(summary_file, summary_markdown(report))
    if failures:
        raise failures[0]


@contextlib.contextmanager
def _collect(failures: list[GateError], option: str | None = None, path: str | None = None) -> Iterator[None]:
    """Note an output's failure and go on to the next output: a GateError, or an OSError writing the file `path`
    that `option` names."""
    try:
        yield
    except GateError as error:
        failures.append(error)
    except OSError as error:
        if option is None or path is None:
            raise
        failures.append(cannot_write(option, path, error))


def run_reported(command: Callable[[], int], name: str, output: str = "text", junit_path: str | None = None,
                 metrics_path: str | None = None, inputs: Iterable[str] = ()) -> NoReturn:
    """Run a command through the error funnel (gate.errors.error_handler) and exit with its code.

    Every exit leaves a report of this run: a stale JUnit file is removed first,
    and a run that ends without a verdict (2, 3, 130) still writes the JUnit file,
    the metrics file and, in a machine format, its document on stdout, each saying why.
    The metrics file is replaced, not removed first: a textfile collector keeps
    serving the last run's gauges while this one runs. `inputs` are the paths the
    run reads: no report may replace one.
    """
    started, inputs = time.monotonic(), tuple(inputs)

    def metrics_only(why: Ending) -> None:
        """Nowhere to leave a report; but the JUnit file may be the one at fault: an alert still learns of the exit."""
        if metrics_path:
            with contextlib.suppress(GateError):
                check_output(metrics_path, "--metrics-file", inputs, make_parent=False)
                write_files(Report.unfinished(name, why.exit_code, why.message), None, metrics_path)

    def unfinished(why: Ending) -> None:
        publish(Report.unfinished(name, why.exit_code, why.message, time.monotonic() - started, why.location),
                output, junit_path, metrics_path=metrics_path)

    with error_handler(say, metrics_only):
        check_outputs(junit_path, metrics_path, inputs)
    with error_handler(say, unfinished):
        if junit_path:
            remove_stale(junit_path)
        code = command()
    sys.exit(code)
