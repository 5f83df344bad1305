"""The `deploy-gate` command line: parse, call one core function, return an exit code.

Every command goes through `_run`, the one place that turns GateError into a
one-line message and its exit code (0 passed, 1 failed, 2 usage/config/manifest,
3 could not verify).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gate import __version__
from gate.config import Caller, GateConfig, Pair, Target, caller_from_text, load_config, target_from_text
from gate.errors import EXIT_UNVERIFIABLE, GateError, ManifestError, OutputError, UsageError
from gate.escape import scrubbed, visible
from gate.findings import BaselineEntry, Finding, Outcome, exit_code
from gate.inventory import Inventory
from gate.kinds import BUILTIN_RESOURCES
from gate.lint import lint as run_lint
from gate.manifests import STDIN, HelmChart, ManifestSet, directory_config, load, parse_apply_output, read_text
from gate.objects import ObjectRef
from gate.outputs import (
    append_text,
    cannot_write,
    check_distinct,
    check_output,
    remove_stale,
    replace_file,
    write_stdout,
)
from gate.pairs import PairVerdict, ResolvedPair, Unresolvable, judge, pair_fixes, resolve
from gate.report import FORMATS, Report, render
from gate.report.base import EXIT_INTERRUPTED
from gate.report.github import annotations, neutralise, summary_markdown
from gate.rules import caller_pair
from gate.schema import DNS_LABEL, duration, port_of
from gate.suppressions import (
    Baseline,
    baseline_document,
    baseline_entries,
    load_baseline,
    object_annotations,
    settle,
)

if TYPE_CHECKING:  # the cluster side (the kubernetes client, 0.3 s to import) loads only in commands that use it
    from gate.cluster import Cluster
    from gate.report.console import LiveProgress
    from gate.verify.engine import Deadlines, Touched


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM (a cancelled pipeline, an Argo CD hook deadline) unwinds like Ctrl-C: probe pods get deleted."""
    raise KeyboardInterrupt


def _github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def say(text: str) -> None:
    """A line for people on stderr; under GitHub Actions no data in it can read as a workflow command."""
    click.echo(neutralise(text) if _github() else text, err=True)


def _run(command: Callable[[], int], name: str, output: str = "text", junit_path: str | None = None,
         metrics_path: str | None = None, inputs: Iterable[str] = ()) -> None:
    """Run a command; map errors to one line on stderr and the exit code.

    Every exit leaves a report of this run: a stale JUnit file is removed first,
    and a run that ends without a verdict (2, 3, 130) still writes the JUnit file,
    the metrics file and, in a machine format, its document on stdout, each saying why.
    The metrics file is replaced, not removed first: a textfile collector keeps
    serving the last run's gauges while this one runs. `inputs` are the paths the
    run reads: no report may replace one. A report that could not be written
    (exit 3) is not written again: the others already hold the verdict.
    """
    signal.signal(signal.SIGTERM, _terminate)
    # As kubectl and helm do: a step started in the background of a non-interactive shell inherits SIGINT
    # ignored, and the pipeline's cancel (GitHub Actions sends SIGINT first) must still end it with a report.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    try:
        check_outputs(junit_path, metrics_path, inputs)
    except GateError as error:  # nowhere to leave a report: say why and stop
        say(f"deploy-gate: error: {visible(str(error))}")
        if metrics_path:  # the JUnit file may be the one at fault; an alert still learns of the exit
            with contextlib.suppress(GateError):
                check_output(metrics_path, "--metrics-file", inputs, make_parent=False)
                write_files(Report.unfinished(name, error.exit_code, visible(str(error))), None, metrics_path)
        sys.exit(error.exit_code)
    try:
        if junit_path:
            remove_stale(junit_path)
        sys.exit(command())
    except OutputError as error:
        say(f"deploy-gate: error: {visible(str(error))}")
        sys.exit(error.exit_code)
    except GateError as error:
        code, message, location = error.exit_code, visible(str(error)), error.location
        say(f"deploy-gate: error: {message}")
    except KeyboardInterrupt:
        code, message, location = EXIT_INTERRUPTED, "interrupted", None
        say("deploy-gate: interrupted")
    except Exception as error:  # a bug of ours: still one line, the traceback on request
        if os.environ.get("DEPLOY_GATE_DEBUG"):
            import traceback

            traceback.print_exc()
        code, message, location = (EXIT_UNVERIFIABLE, f"internal error: {type(error).__name__}: "
                                                      f"{visible(scrubbed(str(error)))}", None)
        say(f"deploy-gate: {message} (set DEPLOY_GATE_DEBUG=1 for the traceback)")
    try:
        publish(Report.unfinished(name, code, message, time.monotonic() - started, location), output, junit_path,
                metrics_path=metrics_path)
    except GateError as error:
        say(f"deploy-gate: error: {visible(str(error))}")
    sys.exit(code)


def check_outputs(junit_path: str | None, metrics_path: str | None = None, inputs: Iterable[str] = ()) -> None:
    """Fail before any work when a file the run must write cannot be written (not after printing PASSED),
    or must not be: an input, a directory, a device or a FIFO (gate/outputs.py).

    A missing parent of the JUnit file is created, as before; GitHub creates the
    step summary's directory, and a textfile collector's directory is a mount, so a
    missing one there means a wrong variable or volume.
    """
    outputs = [(junit_path, "--junit", True, False), (metrics_path, "--metrics-file", False, False)]
    if _github():
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
    failures = []
    writers = (("--junit", junit_path, _write_junit), ("--metrics-file", metrics_path, _write_metrics))
    for option, path, write in ((o, p, w) for o, p, w in writers if p):
        try:
            write(report, path)
        except OSError as error:
            failures.append(cannot_write(option, path, error))
    if failures:
        raise failures[0]


def repository_root(start: Path) -> Path:
    """The git top-level above start (a `.git` directory or file), else start: SARIF paths are relative to it."""
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
            write_stdout(neutralise(document, output) if _github() else document)
    with _collect(failures):
        write_files(report, junit_path, metrics_path)
    if _github():
        for line in annotations(report):
            click.echo(line, err=True)
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            try:
                append_text(summary_file, summary_markdown(report))
            except OSError as error:
                failures.append(cannot_write("GITHUB_STEP_SUMMARY", summary_file, error))
    if failures:
        raise failures[0]


@contextlib.contextmanager
def _collect(failures: list[GateError]) -> Iterator[None]:
    """Note an output's failure and go on to the next output."""
    try:
        yield
    except GateError as error:
        failures.append(error)


def check_namespace(manifests: ManifestSet, namespace: str | None) -> None:
    """-n must not contradict a manifest's own namespace: kubectl refuses that too, rather than pick one."""
    for manifest in manifests.manifests if namespace else ():
        own = (manifest.obj.get("metadata") or {}).get("namespace")
        if own and own != namespace:
            raise UsageError(f"{manifest.location('metadata', 'namespace')}: the namespace from the provided object "
                             f"{own!r} does not match the namespace {namespace!r} given with -n; pass -n {own} "
                             f"or drop -n")


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """Pause the cyclic garbage collector while manifests load, then freeze what was loaded out of its scans.

    Thousands of objects live for the whole run: scanning them found nothing and cost a third of the parse
    time, then 0.2 s more in the first full collection afterwards. The process is the command's, so the
    command decides this, not the loader.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if collecting:
            gc.enable()


def load_inputs(paths: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
                namespace: str | None, helm: HelmChart | None = None) -> tuple[ManifestSet, GateConfig]:
    """The manifests and the config: --config, else a gate.yaml at the root of a given directory."""
    if not paths and not kustomize and helm is None:
        raise UsageError("give manifests: PATH, -f PATH (file, directory or '-'), -k DIR or --helm CHART")
    if paths.count(STDIN) > 1:
        raise UsageError("'-' (stdin) can be given only once")
    config = load_config(config_path or directory_config(paths))  # first: its `exclude:` prunes the walk
    with bulk_load():
        manifests = load(paths, kustomize, config.exclude, helm)
    check_namespace(manifests, namespace)
    return manifests, config


def settled(findings: list[Finding], config: GateConfig, manifests: ManifestSet, namespace: str,
            baseline_path: str | None = None, write_baseline: str | None = None
            ) -> tuple[tuple[Finding, ...], tuple[str, ...], tuple[BaselineEntry, ...]]:
    """The findings with gate.yaml's `rules:`, the objects' ignore annotations and the baseline applied (the one
    place suppressions are decided: gate.suppressions.settle); the notes and entries of a baseline no longer met.

    --write-baseline records today's counted failures and compares the run with what it wrote.
    """
    annotations = object_annotations(manifests.manifests, namespace)
    baseline = load_baseline(baseline_path) if baseline_path else None
    if write_baseline:
        entries = baseline_entries(settle(findings, config.rules, annotations, None, config.file)[0])
        try:
            replace_file(write_baseline, baseline_document(entries))
        except OSError as error:
            raise cannot_write("--write-baseline", write_baseline, error) from None
        baseline = Baseline(write_baseline, tuple(entries))
    result, absent = settle(findings, config.rules, annotations, baseline, config.file)
    notes = tuple(f"baseline {baseline.file if baseline else ''}: {entry.rule} on {entry.subject} no longer occurs "
                  f"({entry.message}); --write-baseline drops it" for entry in absent)
    return tuple(result), notes, absent


def config_option(_context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    """--config '': an empty name is a mistake (an unset variable), not a request for the default gate.yaml."""
    if value == "":
        raise click.BadParameter("expected a file name, got ''", param=parameter)
    return value


def namespace_option(_context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    """-n: a namespace name (a DNS label), as the API server requires."""
    if value is not None and not (DNS_LABEL.fullmatch(value) and len(value) <= 63):
        raise click.BadParameter(f"expected a namespace name (a DNS label: a-z 0-9 -), got {visible(value)!r}",
                                 param=parameter)
    return value


def seconds_option(_context: click.Context, parameter: click.Parameter, value: str | None) -> float | None:
    """A duration flag: finite and positive ('30', '30s', '2m'); nan, inf, 0 and negatives are usage errors."""
    if value is None:
        return None
    seconds = duration(value)
    if seconds is None:
        raise click.BadParameter(f"expected a positive duration: seconds or a Go duration ('30', '30s', '2m', "
                                 f"'5m0s', '1m30s'), got {value!r}", param=parameter)
    return seconds


def request_timeout_option(context: click.Context, parameter: click.Parameter, value: str | None) -> float | None:
    """--request-timeout: a duration, or 0 as kubectl takes it: no bound of its own (the run's deadline still holds)."""
    if value is not None and re.fullmatch(r"(?:0+\.?0*(?:ns|us|µs|μs|ms|s|m|h)?)+", value.strip()):
        return 0.0
    return seconds_option(context, parameter, value)


def open_cluster(kubeconfig: str | None, context: str | None, request_timeout: float | None) -> Cluster:
    """The cluster, each request bounded by --request-timeout (None: the default; 0: by the run's deadline only)."""
    from gate.cluster import REQUEST_SECONDS, Cluster

    seconds = REQUEST_SECONDS if request_timeout is None else request_timeout or None
    return Cluster(kubeconfig, context, seconds)


REQUEST_TIMEOUT_HELP = ("Most each API request may take, as kubectl's (default 60s; 0: no bound but the run's "
                        "deadline).")
manifest_options = [
    click.option("-f", "--filename", "files", multiple=True, metavar="PATH",
                 help="Manifest file, directory (recursive) or '-' for stdin. Repeatable."),
    click.option("-k", "--kustomize", multiple=True, metavar="DIR",
                 help="Kustomization directory (kubectl kustomize)."),
    click.option("--config", "config_path", metavar="FILE", callback=config_option,
                 help="gate.yaml (default: gate.yaml at a directory's root)."),
    click.option("-n", "--namespace", metavar="NS", callback=namespace_option,
                 help="Namespace for objects that name none."),
    click.option("--output", "-o", type=click.Choice(FORMATS), default="text", show_default=True,
                 help="Format on stdout."),
    click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML to PATH."),
    click.option("--sarif-root", metavar="DIR", help="SARIF paths are relative to DIR (default: the git top-level "
                                                     "of the working directory, else the working directory)."),
]


def with_options(options: list[Callable[[Callable[..., object]], Callable[..., object]]]
                 ) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def decorate(function: Callable[..., object]) -> Callable[..., object]:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


def _option(argv: list[str], long: str, short: str | None = None) -> str | None:
    """The last value given to an option in raw argv (`--junit P`, `--junit=P`, `-o json`, `-ojson`)."""
    value = None
    for position, arg in enumerate(argv):
        if arg in (long, short) and position + 1 < len(argv):
            value = argv[position + 1]
        elif arg.startswith(f"{long}="):
            value = arg[len(long) + 1:]
        elif short and arg.startswith(short) and not arg.startswith("--") and len(arg) > len(short):
            value = arg[len(short):]
    return value


def _argv_paths(argv: list[str], *outputs: str | None) -> list[str]:
    """Every word of a command line click could not parse that may name an input (`-fPATH`, `--config=PATH`
    included), less one occurrence of each output path: when the options are unknown, all of them are guarded."""
    words = [part for arg in argv for part in (arg, arg.partition("=")[2], arg[2:] if arg[:1] == "-" else "")
             if part]
    for output in outputs:
        if output in words:
            words.remove(output)
    return words


def kubectl_forms(args: list[str]) -> list[str]:
    """`-o=json`, `-n=shop`, `-f=dir` as kubectl (pflag) reads them: the short option's value after '='.

    Click would read `=json` as the value. Words after `--` are positional and left alone.
    """
    end = args.index("--") if "--" in args else len(args)
    return [f"{arg[:2]}{arg[3:]}" if position < end and len(arg) > 3 and arg[0] == "-" and arg[1].isalpha()
            and arg[2] == "=" else arg for position, arg in enumerate(args)]


class Gate(click.Group):
    """The command group. Click rejects a bad option before any command runs; that exit 2 leaves reports too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = kubectl_forms(args)
        ctx.meta["argv"] = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            self._report(ctx, error)
            raise

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            self._report(ctx, error)
            raise

    def _report(self, ctx: click.Context, error: click.UsageError) -> None:
        """The reports an exit 2 owes: --junit replaced, and -o json|sarif|junit's document saying why."""
        argv: list[str] = ctx.meta.get("argv", [])
        name = next((arg for arg in argv if arg in self.commands), "deploy-gate")
        output = _option(argv, "--output", "-o")
        junit_path = _option(argv, "--junit")
        metrics_path = _option(argv, "--metrics-file") if name == "verify" else None
        if junit_path or metrics_path or output in FORMATS:
            with contextlib.suppress(GateError):
                check_outputs(junit_path, metrics_path, _argv_paths(argv, junit_path, metrics_path))
                if junit_path:
                    remove_stale(junit_path)
                publish(Report.unfinished(name, error.exit_code, visible(error.format_message())),
                        output if output in FORMATS else "text", junit_path, metrics_path=metrics_path)


@click.group(cls=Gate, context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="deploy-gate")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Tell the pipeline the truth about the cluster after `kubectl apply`."""
    if ctx.invoked_subcommand is None:  # as kubectl and helm: the help, on stdout, and success
        click.echo(ctx.get_help())


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script (as `kubectl completion SHELL`): source it from your shell's rc file."""
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # one of the shells click ships
    click.echo(complete(main, {}, "deploy-gate", "_DEPLOY_GATE_COMPLETE").source())


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@with_options(manifest_options)
@click.option("--helm", "helm_chart", metavar="CHART", help="Render a chart with `helm template` (helm on PATH); "
                                                            "findings point at its templates.")
@click.option("--helm-values", multiple=True, metavar="FILE", help="A values file for --helm (helm's -f; -f is "
                                                                  "--filename here). Repeatable.")
@click.option("--helm-set", multiple=True, metavar="K=V", help="A value for --helm (helm's --set). Repeatable.")
@click.option("--strict", is_flag=True, help="Warnings fail the run (exit 1) too.")
@click.option("--baseline", "baseline_path", metavar="FILE",
              help="Fail only on findings not in FILE (written by --write-baseline).")
@click.option("--write-baseline", metavar="FILE", help="Record today's failures in FILE as accepted.")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that passed, and the suppressed ones.")
def lint(paths: tuple[str, ...], files: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
         namespace: str | None, output: str, junit_path: str | None, sarif_root: str | None,
         helm_chart: str | None, helm_values: tuple[str, ...], helm_set: tuple[str, ...], strict: bool,
         baseline_path: str | None, write_baseline: str | None, verbose: bool) -> None:
    """Check manifests before apply, with no cluster: selectors, ports, caller pairs, conventions."""
    inputs = (*paths, *files, *kustomize, config_path or "", baseline_path or "", helm_chart or "", *helm_values)

    def command() -> int:
        started = time.monotonic()
        if baseline_path and write_baseline:
            raise UsageError("--baseline and --write-baseline: give one (--write-baseline records today's "
                             "failures; --baseline compares with a recorded file)")
        if write_baseline:
            check_output(write_baseline, "--write-baseline", inputs, make_parent=False)
            check_distinct((path, what) for path, what in ((write_baseline, "--write-baseline"),
                                                           (junit_path, "--junit")) if path)
        if (helm_values or helm_set) and not helm_chart:
            raise UsageError("--helm-values and --helm-set need --helm CHART")
        helm = HelmChart(helm_chart, helm_values, helm_set, namespace) if helm_chart is not None else None
        manifests, config = load_inputs(paths + files, kustomize, config_path, namespace, helm)
        inventory = Inventory.from_manifests(manifests.manifests, namespace or "default")
        findings, baseline_notes, absent = settled(run_lint(inventory, config), config, manifests,
                                                   namespace or "default", baseline_path, write_baseline)
        notes = tuple(f"skipped {file}: {why}" for file, why in manifests.skipped_files.items()) + baseline_notes
        report = Report("lint", findings, exit_code(findings, strict), time.monotonic() - started, strict, notes,
                        absent=absent)
        publish(report, output, junit_path, verbose, sarif_root)
        return report.exit_code

    _run(command, "lint", output, junit_path, inputs=inputs)


def read_apply_output(apply_output: str | None) -> list[tuple[str, str]] | ManifestSet | None:
    """`--from-apply-output FILE|-`, parsed and checked offline (before any connection)."""
    if apply_output is None:
        return None
    name = f"--from-apply-output {'<stdin>' if apply_output == STDIN else apply_output}"
    try:
        text = read_text(apply_output)
    except ManifestError as error:
        raise ManifestError(f"--from-apply-output {error}") from error
    parsed = parse_apply_output(text, name)
    for kind, object_name in parsed if isinstance(parsed, list) else []:
        if kind not in BUILTIN_RESOURCES:
            raise UsageError(f"--from-apply-output: cannot tell the API group of {kind.lower()}/"
                             f"{object_name} from -o name; pipe `kubectl apply -o yaml` instead")
    return parsed


def touched_objects(manifests: ManifestSet, applied: list[tuple[str, str]] | ManifestSet | None,
                    namespace: str) -> list[Touched]:
    """The touched set: manifests (with file:line) plus the parsed `kubectl apply -o name|yaml` output."""
    from gate.verify.engine import Touched

    touched = [Touched(m.ref(namespace), str(m.obj.get("apiVersion")), m) for m in manifests.manifests]
    if isinstance(applied, ManifestSet):
        touched += [Touched(m.ref(namespace), str(m.obj.get("apiVersion")), m) for m in applied.manifests]
    for kind, name in applied if isinstance(applied, list) else []:
        resource = BUILTIN_RESOURCES[kind]
        touched.append(Touched(ObjectRef(kind, namespace if resource.namespaced else None, name),
                               resource.api_version))
    unique: dict[ObjectRef, Touched] = {}
    for item in touched:
        unique.setdefault(item.ref, item)
    return list(unique.values())


@dataclass(frozen=True)
class Records:
    """The controllers' records of what they applied: a Helm release, an Argo CD Application, a Flux Kustomization."""

    helm_release: str | None
    argocd_app: str | None
    argocd_namespace: str
    flux_kustomization: str | None
    flux_helmrelease: str | None
    flux_namespace: str

    def read(self, cluster: Cluster, namespace: str, until: float
             ) -> tuple[list[Touched], list[Finding], tuple[str, ...], bool]:
        """Their objects, their own checks and notes, and whether the objects are to be verified (not when Helm
        says a revision read did not finish)."""
        from gate.helm import hooks_note, latest_release, release_findings, release_touched, storage_resource
        from gate.verify.argocd import application_resources

        release = latest_release(cluster, self.helm_release, namespace, storage_resource(os.environ)) \
            if self.helm_release else None
        releases = [release]  # Helm's records read: their revisions must be deployed for the objects to count
        touched = release_touched(release)
        findings, notes = release_findings(release)
        if self.argocd_app:
            touched += application_resources(cluster, self.argocd_app, self.argocd_namespace)
        if self.flux_kustomization:
            from gate.flux import kustomization_resources

            flux_touched, flux_finding = kustomization_resources(cluster, self.flux_kustomization,
                                                                 self.flux_namespace, until)
            touched += flux_touched
            findings.insert(0, flux_finding)
        if self.flux_helmrelease:
            from gate.flux import helmrelease_resources

            flux_touched, flux_findings, flux_release = helmrelease_resources(cluster, self.flux_helmrelease,
                                                                              self.flux_namespace, until)
            touched += flux_touched
            findings[:0] = flux_findings
            notes += tuple(note for note in (flux_release and hooks_note(flux_release),) if note)
            releases.append(flux_release)
        return touched, findings, notes, all(r is None or r.deployed for r in releases)


def checked(cluster: Cluster, config: GateConfig, touched: list[Touched], deadlines: Deadlines,
            progress: LiveProgress, manifests: ManifestSet, namespace: str) -> list[Finding]:
    """The touched objects' checks, then the declared pairs' probes (unless --fail-fast or the deadline ended it)."""
    from gate.verify.connectivity import probe_pairs, timed_out, unprobed
    from gate.verify.engine import Verification, fail_fast_reason

    verification = Verification(cluster, touched, deadlines, progress)
    manifests.release_lines()  # the checks hold every file:line they report; the watches need the memory
    with progress.waiting():
        findings = verification.run()
    touched_namespaces = {t.ref.namespace for t in touched if t.ref.namespace}
    without_endpoints = frozenset((f.subject.namespace, f.subject.name) for f in findings
                                  if f.phase == "endpoints" and f.outcome is Outcome.FAILED)
    left = cluster.time_left()
    if verification.stopped_at is not None:
        findings += unprobed(config, fail_fast_reason(verification.stopped_at.ref))
    elif left is not None and left <= 0:
        findings += timed_out(config)
    else:
        with progress.waiting(lambda: f"waiting for the connectivity checks of {len(config.pairs)} declared "
                              "pair(s)"):
            findings += probe_pairs(cluster, config, namespace, touched_namespaces,
                                    lambda line: say(visible(line)), without_endpoints)
    return findings


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@with_options(manifest_options)
@click.option("--from-apply-output", "apply_output", metavar="FILE",
              help="Output of `kubectl apply -o name` or `-o yaml` ('-' for stdin).")
@click.option("--argocd-app", metavar="NAME", help="Verify the resources of this Argo CD Application "
                                                  "(its status.resources), e.g. from a PostSync hook.")
@click.option("--argocd-namespace", default="argocd", show_default=True, metavar="NS",
              help="Namespace of the Argo CD Application.")
@click.option("--flux-kustomization", metavar="NAME", help="Verify the objects of this Flux Kustomization (its "
                                                          "status.inventory), once it has applied its last "
                                                          "attempted revision.")
@click.option("--flux-helmrelease", metavar="NAME", help="Verify the objects of the Helm release this Flux "
                                                        "HelmRelease made (read from Helm's storage), once it is "
                                                        "Ready or failed.")
@click.option("--flux-namespace", default="flux-system", show_default=True, metavar="NS", callback=namespace_option,
              help="Namespace of the Flux Kustomization and HelmRelease.")
@click.option("--helm-release", metavar="NAME", help="Verify the objects of this Helm release's latest revision "
                                                    "(in -n NS; storage from HELM_DRIVER), and that it is deployed.")
@click.option("--context", metavar="NAME", help="kubeconfig context (default: the current one).")
@click.option("--kubeconfig", metavar="FILE", help="kubeconfig file (default, as kubectl: $KUBECONFIG, else "
                                                   "~/.kube/config, else the in-cluster config inside a pod).")
@click.option("--timeout", "run_timeout", callback=seconds_option, metavar="DURATION",
              help="Deadline of the whole run: rollouts, endpoints and probes (default none).")
@click.option("--rollout-timeout", callback=seconds_option, metavar="DURATION",
              help="Deadline for rollouts (default 300s, or --timeout; the earlier of the two).")
@click.option("--endpoints-timeout", callback=seconds_option, metavar="DURATION",
              help="Deadline for ready endpoints, from the start of the gate (default 60s, or --timeout; the "
                   "earlier of the two).")
@click.option("--request-timeout", callback=request_timeout_option, metavar="DURATION", help=REQUEST_TIMEOUT_HELP)
@click.option("--wait-full-timeout", is_flag=True, default=None,
              help="Wait out the deadlines even when the evidence is already definitive.")
@click.option("--fail-fast", is_flag=True, default=None,
              help="End at the first failed check; the others are reported as not decided.")
@click.option("--probe-image", metavar="IMAGE", help="Image of the probe pods (default busybox:1.36, or "
                                                    "probe.image in gate.yaml); needs sh and nc.")
@click.option("--probe-mode", type=click.Choice(["pod", "exec"]),
              help="pod: a short-lived probe pod per pair (default); exec: run the check in a caller pod.")
@click.option("--metrics-file", "metrics_path", metavar="PATH",
              help="Also write Prometheus gauges to PATH (replaced atomically; for a node-exporter textfile "
                   "collector, end it in .prom).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks that passed.")
def verify(paths: tuple[str, ...], files: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
           namespace: str | None, output: str, junit_path: str | None, sarif_root: str | None,
           apply_output: str | None,
           argocd_app: str | None, argocd_namespace: str, flux_kustomization: str | None,
           flux_helmrelease: str | None, flux_namespace: str,
           helm_release: str | None, context: str | None, kubeconfig: str | None,
           run_timeout: float | None, rollout_timeout: float | None, endpoints_timeout: float | None,
           request_timeout: float | None, wait_full_timeout: bool | None, fail_fast: bool | None,
           probe_image: str | None,
           probe_mode: str | None, metrics_path: str | None, verbose: bool) -> None:
    """Wait for the touched rollouts, prove every touched Service has ready endpoints, explain failures."""

    def command() -> int:
        from gate.report.console import LiveProgress, summary_table
        from gate.verify.engine import Deadlines, unchecked_note

        started = time.monotonic()
        sources = paths + files
        if (apply_output, argocd_app, flux_kustomization, flux_helmrelease, helm_release) == (None,) * 5 \
                and not sources and not kustomize:
            raise UsageError("give the touched objects: PATH, -f PATH, -k DIR, --from-apply-output FILE, "
                             "--argocd-app NAME, --flux-kustomization NAME, --flux-helmrelease NAME or "
                             "--helm-release NAME")
        if (*sources, apply_output).count(STDIN) > 1:
            raise UsageError("'-' (stdin) can be given only once")
        # Everything that can be wrong offline is found before the first connection.
        config = load_config(config_path or directory_config(sources))  # first: its `exclude:` prunes the walk
        with bulk_load():
            manifests = load(sources, kustomize, config.exclude) if sources or kustomize else ManifestSet()
        check_namespace(manifests, namespace)
        config = replace(config, probe_image=probe_image or config.probe_image,
                         probe_mode=probe_mode or config.probe_mode)
        applied = read_apply_output(apply_output)
        cluster = open_cluster(kubeconfig, context, request_timeout)
        overall = run_timeout or config.timeout  # flag > gate.yaml > none, as each specific deadline
        if overall is not None:
            cluster.bound(started + overall)  # every request of the run, the probes' included
        default_namespace = namespace or cluster.namespace
        deadlines = Deadlines.chosen(
            cluster.time_left(),
            rollout_timeout or config.rollout_timeout,
            endpoints_timeout or config.endpoints_timeout,
            wait_full=config.wait_full_timeout if wait_full_timeout is None else wait_full_timeout,
            fail_fast=config.fail_fast if fail_fast is None else fail_fast,
        )
        touched = touched_objects(manifests, applied, default_namespace)
        records = Records(helm_release, argocd_app, argocd_namespace, flux_kustomization, flux_helmrelease,
                          flux_namespace)
        recorded, findings, notes, verifiable = records.read(cluster, default_namespace, started + deadlines.rollout)
        touched += recorded
        annotated = [*manifests.manifests, *(applied.manifests if isinstance(applied, ManifestSet) else ())]
        annotations = object_annotations(annotated, default_namespace)  # before the lines go
        if verifiable:  # not when Helm itself says the revision failed or is unfinished
            progress = LiveProgress.for_terminal(sys.stderr, os.environ)
            findings += checked(cluster, config, touched, deadlines, progress, manifests, default_namespace)
            notes += tuple(note for note in (unchecked_note(touched),) if note)
        findings, _ = settle(findings, config.rules, annotations, None, config.file)  # as lint does
        report = Report("verify", tuple(findings), exit_code(findings), time.monotonic() - started, notes=notes)
        if output == "text":
            say(summary_table(report).rstrip("\n"))
        publish(report, output, junit_path, verbose, sarif_root, metrics_path)
        return report.exit_code

    _run(command, "verify", output, junit_path, metrics_path,
         (*paths, *files, *kustomize, config_path or "", apply_output or "", kubeconfig or ""))


def parse_explain_caller(text: str) -> Caller:
    """NS/KIND/NAME, NS/NAME, KIND/NAME or NAME (any workload kind)."""
    caller = caller_from_text(text, any_kind=True)
    if caller is None:
        raise UsageError(f"--from {text!r}: expected NAMESPACE/KIND/NAME, NAMESPACE/NAME, KIND/NAME or NAME")
    return caller


def parse_explain_target(text: str) -> Target:
    """NS/SERVICE:PORT or SERVICE[.NS]:PORT."""
    target = target_from_text(text, slash_namespace=True)
    if target is None:
        raise UsageError(f"--to {text!r}: expected NAMESPACE/SERVICE:PORT or SERVICE[.NAMESPACE]:PORT")
    if port_of(str(target.port)) is None:
        raise UsageError(f"--to {text!r}: expected a port number (1-65535) or a port name after ':', "
                         f"got {str(target.port)!r}")
    return target


@main.command()
@click.option("--from", "caller_text", required=True, metavar="NS/WORKLOAD",
              help="The caller: NAMESPACE/KIND/NAME, NAMESPACE/NAME, KIND/NAME or NAME.")
@click.option("--to", "target_text", required=True, metavar="NS/SERVICE:PORT",
              help="The target Service port: NAMESPACE/SERVICE:PORT or SERVICE[.NAMESPACE]:PORT.")
@click.option("-f", "--filename", "files", multiple=True, metavar="PATH",
              help="Manifests holding the Namespaces, workloads, Services and NetworkPolicies.")
@click.option("-k", "--kustomize", multiple=True, metavar="DIR", help="Kustomization directory.")
@click.option("--live", is_flag=True, help="Read the objects from the cluster instead of manifests.")
@click.option("-n", "--namespace", metavar="NS", callback=namespace_option,
              help="Namespace for objects that name none.")
@click.option("--context", metavar="NAME", help="kubeconfig context (with --live).")
@click.option("--kubeconfig", metavar="FILE", help="kubeconfig file (with --live).")
@click.option("--request-timeout", callback=request_timeout_option, metavar="DURATION",
              help=f"With --live: {REQUEST_TIMEOUT_HELP}")
@click.option("--output", "-o", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Format on stdout (junit and sarif: one check per backend of the target port).")
@click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML to PATH.")
def explain(caller_text: str, target_text: str, files: tuple[str, ...], kustomize: tuple[str, ...], live: bool,
            namespace: str | None, context: str | None, kubeconfig: str | None, request_timeout: float | None,
            output: str, junit_path: str | None) -> None:
    """Would NetworkPolicies let this caller reach this Service port, and why? Exit 0 allow, 1 deny."""

    def command() -> int:
        started = time.monotonic()
        if not live and (context or kubeconfig or request_timeout is not None):
            given = " and ".join(f for f, v in (("--context", context), ("--kubeconfig", kubeconfig),
                                                ("--request-timeout", request_timeout is not None)) if v)
            raise UsageError(f"{given} need --live: without it explain reads manifests, not a cluster")
        if live and (files or kustomize):
            raise UsageError("explain reads either manifests (-f, -k) or the cluster (--live), not both")
        caller, target = parse_explain_caller(caller_text), parse_explain_target(target_text)
        pair = Pair(caller, target, True, None, None, "command line")
        incomplete = None
        if live:
            from gate.verify.connectivity import foreign_policies, live_inventory

            cluster = open_cluster(kubeconfig, context, request_timeout)
            default_namespace = namespace or cluster.namespace
            namespaces = {caller.namespace or default_namespace} | ({target.namespace} if target.namespace else set())
            inventory, _ = live_inventory(cluster, namespaces, default_namespace)
            incomplete = foreign_policies(cluster)
        else:
            if not files and not kustomize:
                raise UsageError("explain reads manifests (-f PATH, -k DIR) or the cluster (--live)")
            with bulk_load():
                manifests = load(files, kustomize)
            check_namespace(manifests, namespace)
            inventory = Inventory.from_manifests(manifests.manifests, namespace or "default")
        try:
            resolved = resolve(pair, inventory)
        except Unresolvable as why:
            raise UsageError(f"cannot explain {caller_text} -> {target_text}: {why}") from why
        verdict = judge(resolved, inventory, incomplete)  # as lint and verify judge a declared pair
        report = Report("explain", explanation_findings(resolved, verdict), 0 if verdict.connects else 1,
                        time.monotonic() - started)
        # explain's own text, and its verdict's fields after the common ones in json: every backend's explanation
        own = render_explanation(resolved, verdict, output, report) if output in ("text", "json") else None
        publish(report, output, junit_path, document=own)
        return report.exit_code

    _run(command, "explain", output, junit_path, inputs=(*files, *kustomize, kubeconfig or ""))


def explanation_findings(resolved: ResolvedPair, verdict: PairVerdict) -> tuple[Finding, ...]:
    """One check, as verify reports a declared pair: passed when the caller connects, failed otherwise."""
    name = f"{resolved.caller.name} -> {resolved.pair.target}"
    return (Finding("connectivity", caller_pair.ID, ObjectRef("Pair", resolved.namespace, name), name,
                    Outcome.PASSED if verdict.connects else Outcome.FAILED, f"{name}: {verdict.message}",
                    evidence=verdict.evidence, fix=verdict.fix, locations=verdict.locations),)


def render_explanation(resolved: ResolvedPair, verdict: PairVerdict, output: str, report: Report) -> str:
    caller, target = resolved.caller.name, resolved.pair.target
    allowed = bool(verdict.connects)
    if output == "json":
        from gate.report import json_report

        return json_report.render(report, **{
            "allowed": allowed,
            "message": verdict.message,
            "caller": {"name": caller, "namespace": resolved.namespace, "labels": resolved.caller.labels},
            "target": str(target),
            "assumption": resolved.assumption,
            "no_endpoints": resolved.no_backends,
            "backends": [{"workload": b.pod.name, "port": b.port, "protocol": b.protocol,
                          "allowed": v.allowed, "summary": v.summary(), "explanation": v.explanation(),
                          "fixes": list(pair_fixes(b, v)), "note": b.note} for b, v in verdict.verdicts],
        })
    word = {True: "ALLOW", False: "DENY"}.get(verdict.connects, "NOT JUDGED")
    lines = [f"{word}  {caller} ({resolved.namespace}) -> {target}: {verdict.message}"]
    lines += [f"    {line}" for line in verdict.evidence]
    lines += [f"    fix: {fix}" for fix in verdict.fix]
    return "\n".join(visible(line) for line in lines) + "\n"
