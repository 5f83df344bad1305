"""`deploy-gate verify` from its options to its report: what was touched, the controllers' records, the checks.

Imported only by the verify command: the kubernetes client it needs loads with it.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace

from gate.cluster import Cluster
from gate.config import GateConfig
from gate.errors import ManifestError, UsageError
from gate.escape import visible
from gate.findings import Finding, Outcome, Phase, exit_code
from gate.flux import helmrelease_resources, kustomization_resources
from gate.helm import latest_release, release_findings, release_touched, storage_resource
from gate.inputs import check_stdin, load_inputs, open_cluster
from gate.kinds import BUILTIN_RESOURCES
from gate.manifests import STDIN, ManifestSet, parse_apply_output, read_text
from gate.objects import ObjectRef
from gate.report import Report
from gate.report.console import LiveProgress
from gate.report.publish import say
from gate.suppressions import object_annotations, settle
from gate.verify.argocd import application_resources
from gate.verify.connectivity import probe_pairs, timed_out, unprobed
from gate.verify.engine import Deadlines, Touched, Verification, fail_fast_reason, unchecked_note


@dataclass(frozen=True)
class VerifyRequest:
    """The verify command's options: what was touched, where the cluster is, and how long to wait."""

    sources: tuple[str, ...]  # PATH and -f
    kustomize: tuple[str, ...]
    config_path: str | None
    namespace: str | None
    apply_output: str | None
    argocd_app: str | None
    argocd_namespace: str
    flux_kustomization: str | None
    flux_helmrelease: str | None
    flux_namespace: str
    helm_release: str | None
    context: str | None
    kubeconfig: str | None
    run_timeout: float | None
    rollout_timeout: float | None
    endpoints_timeout: float | None
    request_timeout: float | None
    wait_full_timeout: bool | None
    fail_fast: bool | None
    probe_image: str | None
    probe_mode: str | None


def run_verify(request: VerifyRequest) -> Report:
    """Everything that can be wrong offline is found before the first connection; then the checks, settled
    by gate.yaml's `rules:` and the objects' ignore annotations as lint's are."""
    started = time.monotonic()
    if not (request.apply_output or request.argocd_app or request.flux_kustomization or request.flux_helmrelease
            or request.helm_release or request.sources or request.kustomize):
        raise UsageError("give the touched objects: PATH, -f PATH, -k DIR, --from-apply-output FILE, "
                         "--argocd-app NAME, --flux-kustomization NAME, --flux-helmrelease NAME or "
                         "--helm-release NAME")
    check_stdin(*request.sources, request.apply_output)
    manifests, config = load_inputs(request.sources, request.kustomize, request.config_path, request.namespace)
    config = replace(config, probe_image=request.probe_image or config.probe_image,
                     probe_mode=request.probe_mode or config.probe_mode)
    applied = read_apply_output(request.apply_output)
    cluster = open_cluster(request.kubeconfig, request.context, request.request_timeout)
    overall = request.run_timeout or config.timeout  # flag > gate.yaml > none, as each specific deadline
    if overall is not None:
        cluster.bound(started + overall)  # every request of the run, the probes' included
    default_namespace = request.namespace or cluster.namespace
    deadlines = Deadlines.chosen(
        cluster.time_left(),
        request.rollout_timeout or config.rollout_timeout,
        request.endpoints_timeout or config.endpoints_timeout,
        wait_full=config.wait_full_timeout if request.wait_full_timeout is None else request.wait_full_timeout,
        fail_fast=config.fail_fast if request.fail_fast is None else request.fail_fast,
    )
    touched = touched_objects(manifests, applied, default_namespace)
    records = Records(request.helm_release, request.argocd_app, request.argocd_namespace,
                      request.flux_kustomization, request.flux_helmrelease, request.flux_namespace)
    recorded, findings, notes, verifiable = records.read(cluster, default_namespace, started + deadlines.rollout)
    touched += recorded
    annotated = [*manifests.manifests, *(applied.manifests if isinstance(applied, ManifestSet) else ())]
    annotations = object_annotations(annotated, default_namespace)  # before the lines go
    if verifiable:  # not when Helm itself says the revision failed or is unfinished
        progress = LiveProgress.for_terminal(sys.stderr, os.environ)
        findings += checked(cluster, config, touched, deadlines, progress, manifests, default_namespace)
        notes += tuple(note for note in (unchecked_note(touched),) if note)
    findings, _ = settle(findings, config.rules, annotations, None, config.file)  # as lint does
    return Report("verify", tuple(findings), exit_code(findings), time.monotonic() - started, notes=notes)


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
    touched = [Touched.of(m, namespace) for m in manifests.manifests]
    if isinstance(applied, ManifestSet):
        touched += [Touched.of(m, namespace) for m in applied.manifests]
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
        release = latest_release(cluster, self.helm_release, namespace, storage_resource(os.environ)) \
            if self.helm_release else None
        releases = [release]  # Helm's records read: their revisions must be deployed for the objects to count
        touched = release_touched(release)
        findings, notes = release_findings(release)
        if self.argocd_app:
            touched += application_resources(cluster, self.argocd_app, self.argocd_namespace)
        if self.flux_kustomization:
            flux_touched, flux_finding = kustomization_resources(cluster, self.flux_kustomization,
                                                                 self.flux_namespace, until)
            touched += flux_touched
            findings.insert(0, flux_finding)
        if self.flux_helmrelease:
            flux_touched, flux_findings, flux_notes, flux_release = helmrelease_resources(
                cluster, self.flux_helmrelease, self.flux_namespace, until)
            touched += flux_touched
            findings[:0] = flux_findings
            notes += flux_notes
            releases.append(flux_release)
        return touched, findings, notes, all(r is None or r.deployed for r in releases)


def checked(cluster: Cluster, config: GateConfig, touched: list[Touched], deadlines: Deadlines,
            progress: LiveProgress, manifests: ManifestSet, namespace: str) -> list[Finding]:
    """The touched objects' checks, then the declared pairs' probes (unless --fail-fast or the deadline ended it)."""
    verification = Verification(cluster, touched, deadlines, progress)
    manifests.release_lines()  # the checks hold every file:line they report; the watches need the memory
    with progress.waiting():
        findings = verification.run()
    touched_namespaces = {t.ref.namespace for t in touched if t.ref.namespace}
    without_endpoints = frozenset((f.subject.namespace, f.subject.name) for f in findings
                                  if f.phase is Phase.ENDPOINTS and f.outcome is Outcome.FAILED)
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
