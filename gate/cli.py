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
from gate.cluster import BUILTIN_RESOURCES, Cluster
from gate.config import GateConfig, load_config
from gate.errors import EXIT_UNVERIFIABLE, GateError, UsageError
from gate.findings import exit_code
from gate.inventory import Inventory
from gate.lint import lint as run_lint
from gate.manifests import ManifestSet, load, refs_from_apply_output
from gate.objects import ObjectRef
from gate.report import FORMATS, Report, render
from gate.report.console import LiveProgress, summary_table
from gate.report.github import annotations, summary_markdown
from gate.verify import Deadlines, Touched, Verification, unchecked_note


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


def touched_objects(manifests: ManifestSet, apply_output: str | None, namespace: str) -> list[Touched]:
    """The touched set: manifests (with file:line) plus `kubectl apply -o name|yaml` output."""
    touched = [Touched(m.ref(namespace), str(m.obj.get("apiVersion")), m) for m in manifests.manifests]
    if apply_output is not None:
        parsed = refs_from_apply_output(apply_output, namespace)
        if isinstance(parsed, ManifestSet):
            touched += [Touched(m.ref(namespace), str(m.obj.get("apiVersion")), m) for m in parsed.manifests]
        else:
            for ref in parsed:
                if ref.kind not in BUILTIN_RESOURCES:
                    raise UsageError(f"--from-apply-output: cannot tell the API group of {ref.kind.lower()}/"
                                     f"{ref.name} from -o name; pipe `kubectl apply -o yaml` instead")
                touched.append(Touched(ref, BUILTIN_RESOURCES[ref.kind].api_version))
    unique: dict[ObjectRef, Touched] = {}
    for item in touched:
        unique.setdefault(item.ref, item)
    return list(unique.values())


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@with_options(manifest_options)
@click.option("--from-apply-output", "apply_output", metavar="FILE",
              help="Output of `kubectl apply -o name` or `-o yaml` ('-' for stdin).")
@click.option("--context", metavar="NAME", help="kubeconfig context (default: the current one).")
@click.option("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, "
                                                   "or in-cluster config inside a pod).")
@click.option("--rollout-timeout", type=float, metavar="SECONDS", help="Deadline for rollouts (default 300).")
@click.option("--endpoints-timeout", type=float, metavar="SECONDS",
              help="Deadline for ready endpoints, from the start of the gate (default 60).")
@click.option("--wait-full-timeout", is_flag=True, default=None,
              help="Wait out the deadlines even when the evidence is already definitive.")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that passed.")
def verify(paths: tuple[str, ...], files: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
           namespace: str | None, output: str, junit_path: str | None, apply_output: str | None,
           context: str | None, kubeconfig: str | None, rollout_timeout: float | None,
           endpoints_timeout: float | None, wait_full_timeout: bool | None, verbose: bool) -> None:
    """Wait for the touched rollouts, prove every touched Service has ready endpoints, explain failures."""

    def command() -> int:
        started = time.monotonic()
        sources = paths + files
        manifests = load(sources, kustomize) if sources or kustomize else ManifestSet()
        if apply_output is None and not manifests.manifests and not sources and not kustomize:
            raise UsageError("give the touched objects: PATH, -f PATH, -k DIR or --from-apply-output FILE")
        config = load_config(config_path or manifests.config_file)
        cluster = Cluster(kubeconfig, context)
        default_namespace = namespace or cluster.namespace
        apply_text = None
        if apply_output is not None:
            apply_text = sys.stdin.read() if apply_output == "-" else Path(apply_output).read_text()
        touched = touched_objects(manifests, apply_text, default_namespace)
        deadlines = Deadlines(
            rollout=rollout_timeout or config.rollout_timeout,
            endpoints=endpoints_timeout or config.endpoints_timeout,
            wait_full=config.wait_full_timeout if wait_full_timeout is None else wait_full_timeout,
        )
        progress = LiveProgress(sys.stderr, sys.stderr.isatty())
        findings = tuple(Verification(cluster, touched, deadlines, progress).run())
        notes = tuple(note for note in (unchecked_note(touched),) if note)
        report = Report("verify", findings, exit_code(findings), time.monotonic() - started, notes=notes)
        if output == "text":
            click.echo(summary_table(report), err=True)
        publish(report, output, junit_path, verbose)
        return report.exit_code

    _run(command)
