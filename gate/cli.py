"""The `deploy-gate` command line: parse the options, call one core function, exit with its code.

Every command returns through gate.errors.error_handler (by way of
gate.report.publish.run_reported), the one place that turns what stopped a run into
one line and its exit code (0 passed, 1 failed, 2 usage/config/manifest, 3 could
not verify, 130 interrupted).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import click

from gate import __version__
from gate.argv import argv_paths, kubectl_forms, option_value
from gate.baseline import settled
from gate.errors import GateError, UsageError, interruptible
from gate.escape import visible
from gate.explain import explained
from gate.findings import exit_code
from gate.inputs import check_stdin, load_inputs
from gate.inventory import Inventory
from gate.lint import lint as run_lint
from gate.manifests import HelmChart
from gate.outputs import check_distinct, check_output, remove_stale
from gate.report import FORMATS, Report
from gate.report.explain import OWN_FORMATS, explanation_findings, render_explanation
from gate.report.publish import check_outputs, publish, run_reported, say
from gate.schema import DNS_LABEL, duration


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
    click.option("--output", "-o", type=click.Choice(tuple(FORMATS)), default="text", show_default=True,
                 help="Format on stdout."),
    click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML to PATH."),
    click.option("--sarif-root", metavar="DIR", help="SARIF and Code Quality paths are relative to DIR (default: the "
                                                     "git top-level of the working directory, else the working "
                                                     "directory)."),
]


def with_options(options: list[Callable[[Callable[..., object]], Callable[..., object]]]
                 ) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def decorate(function: Callable[..., object]) -> Callable[..., object]:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


class Gate(click.Group):
    """The command group. Click rejects a bad option before any command runs; that exit 2 leaves reports too."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """SIGTERM and SIGINT end a command as Ctrl-C does while it runs (gate.errors.interruptible)."""
        with interruptible():
            return super().main(*args, **kwargs)

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
        """The reports an exit 2 owes: --junit replaced, and a machine format's (-o) document saying why."""
        argv: list[str] = ctx.meta.get("argv", [])
        name = next((arg for arg in argv if arg in self.commands), "deploy-gate")
        output = option_value(argv, "--output", "-o")
        junit_path = option_value(argv, "--junit")
        metrics_path = option_value(argv, "--metrics-file") if name == "verify" else None
        if junit_path or metrics_path or output in FORMATS:
            with contextlib.suppress(GateError):
                check_outputs(junit_path, metrics_path, argv_paths(argv, junit_path, metrics_path))
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
        if not paths and not files and not kustomize and helm is None:
            raise UsageError("give manifests: PATH, -f PATH (file, directory or '-'), -k DIR or --helm CHART")
        check_stdin(*paths, *files)
        manifests, config = load_inputs(paths + files, kustomize, config_path, namespace, helm)
        inventory = Inventory.from_manifests(manifests.manifests, namespace or "default")
        findings, baseline_notes, absent = settled(run_lint(inventory, config), config, manifests,
                                                   namespace or "default", baseline_path, write_baseline)
        notes = tuple(f"skipped {file}: {why}" for file, why in manifests.skipped_files.items()) + baseline_notes
        report = Report("lint", findings, exit_code(findings, strict), time.monotonic() - started, strict, notes,
                        absent=absent)
        publish(report, output, junit_path, verbose, sarif_root)
        return report.exit_code

    run_reported(command, "lint", output, junit_path, inputs=inputs)


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

    from gate.verify.run import VerifyRequest, run_verify

    request = VerifyRequest(paths + files, kustomize, config_path, namespace, apply_output, argocd_app,
                            argocd_namespace, flux_kustomization, flux_helmrelease, flux_namespace, helm_release,
                            context, kubeconfig,
                            run_timeout, rollout_timeout, endpoints_timeout, request_timeout, wait_full_timeout,
                            fail_fast, probe_image, probe_mode)

    def command() -> int:
        from gate.report.console import summary_table

        report = run_verify(request)
        if output == "text":
            say(summary_table(report).rstrip("\n"))
        publish(report, output, junit_path, verbose, sarif_root, metrics_path)
        return report.exit_code

    run_reported(command, "verify", output, junit_path, metrics_path,
                 (*paths, *files, *kustomize, config_path or "", apply_output or "", kubeconfig or ""))


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
@click.option("--output", "-o", type=click.Choice(tuple(FORMATS)), default="text", show_default=True,
              help="Format on stdout (junit and sarif: one check per backend of the target port).")
@click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML to PATH.")
def explain(caller_text: str, target_text: str, files: tuple[str, ...], kustomize: tuple[str, ...], live: bool,
            namespace: str | None, context: str | None, kubeconfig: str | None, request_timeout: float | None,
            output: str, junit_path: str | None) -> None:
    """Would NetworkPolicies let this caller reach this Service port, and why? Exit 0 allow, 1 deny."""

    def command() -> int:
        started = time.monotonic()
        resolved, verdict = explained(caller_text, target_text, files, kustomize, live, namespace, context,
                                      kubeconfig, request_timeout)
        report = Report("explain", explanation_findings(resolved, verdict), 0 if verdict.connects else 1,
                        time.monotonic() - started)
        # explain's own text, and its verdict's fields after the common ones in json: every backend's explanation
        own = render_explanation(resolved, verdict, output, report) if output in OWN_FORMATS else None
        publish(report, output, junit_path, document=own)
        return report.exit_code

    run_reported(command, "explain", output, junit_path, inputs=(*files, *kustomize, kubeconfig or ""))
