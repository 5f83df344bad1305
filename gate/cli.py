"""The `deploy-gate` command line: parse, call one core function, return an exit code.

Every command goes through `_run`, the one place that turns GateError into a
one-line message and its exit code (0 passed, 1 failed, 2 usage/config/manifest,
3 could not verify).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from gate import __version__
from gate.config import GateConfig, load_config
from gate.errors import EXIT_UNVERIFIABLE, GateError, UsageError
from gate.findings import exit_code
from gate.inventory import Inventory
from gate.lint import lint as run_lint
from gate.manifests import ManifestSet, load
from gate.report import FORMATS, Report, render
from gate.report.github import annotations, summary_markdown


def _run(command: Callable[[], int]) -> None:
    """Run a command; map errors to one line on stderr and the exit code."""
    try:
        code = command()
    except GateError as error:
        click.echo(f"deploy-gate: error: {error}", err=True)
        code = error.exit_code
    except KeyboardInterrupt:
        click.echo("deploy-gate: interrupted", err=True)
        code = 130
    except Exception as error:  # a bug of ours: still one line, the traceback on request
        if os.environ.get("DEPLOY_GATE_DEBUG"):
            traceback.print_exc()
        click.echo(f"deploy-gate: internal error: {type(error).__name__}: {error} "
                   f"(set DEPLOY_GATE_DEBUG=1 for the traceback)", err=True)
        code = EXIT_UNVERIFIABLE
    sys.exit(code)


def publish(report: Report, output: str, junit_path: str | None, verbose: bool = False) -> None:
    """Render the report to stdout, the JUnit file, and GitHub's annotations and step summary."""
    click.echo(render(report, output, verbose), nl=False)
    if junit_path:
        Path(junit_path).parent.mkdir(parents=True, exist_ok=True)
        Path(junit_path).write_text(render(report, "junit"), encoding="utf-8")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in annotations(report):
            click.echo(line)
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            with open(summary_file, "a", encoding="utf-8") as summary:
                summary.write(summary_markdown(report))


def load_inputs(paths: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None
                ) -> tuple[ManifestSet, GateConfig]:
    """The manifests and the config: --config, else a gate.yaml at the root of a given directory."""
    if not paths and not kustomize:
        raise UsageError("give manifests: PATH, -f PATH (file, directory or '-') or -k DIR")
    manifests = load(paths, kustomize)
    return manifests, load_config(config_path or manifests.config_file)


manifest_options = [
    click.option("-f", "--filename", "files", multiple=True, metavar="PATH",
                 help="Manifest file, directory (recursive) or '-' for stdin. Repeatable."),
    click.option("-k", "--kustomize", multiple=True, metavar="DIR",
                 help="Kustomization directory (kubectl kustomize)."),
    click.option("--config", "config_path", metavar="FILE",
                 help="gate.yaml (default: gate.yaml at a directory's root)."),
    click.option("-n", "--namespace", metavar="NS", help="Namespace for objects that name none."),
    click.option("--output", "-o", type=click.Choice(FORMATS), default="text", show_default=True,
                 help="Format on stdout."),
    click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML to PATH."),
]


def with_options(options: list[Callable[[Callable[..., object]], Callable[..., object]]]
                 ) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def decorate(function: Callable[..., object]) -> Callable[..., object]:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deploy-gate")
def main() -> None:
    """Tell the pipeline the truth about the cluster after `kubectl apply`."""


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@with_options(manifest_options)
@click.option("--strict", is_flag=True, help="Warnings fail the run (exit 1) too.")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that passed.")
def lint(paths: tuple[str, ...], files: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
         namespace: str | None, output: str, junit_path: str | None, strict: bool, verbose: bool) -> None:
    """Check manifests before apply, with no cluster: selectors, ports, caller pairs, conventions."""

    def command() -> int:
        started = time.monotonic()
        manifests, config = load_inputs(paths + files, kustomize, config_path)
        inventory = Inventory.from_manifests(manifests.manifests, namespace or "default")
        findings = tuple(run_lint(inventory, config))
        notes = tuple(f"skipped {file}: no Kubernetes object in it" for file in manifests.skipped_files)
        report = Report("lint", findings, exit_code(findings, strict), time.monotonic() - started, strict, notes)
        publish(report, output, junit_path, verbose)
        return report.exit_code

    _run(command)
