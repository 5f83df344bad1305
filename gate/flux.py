"""The touched set of a Flux Kustomization: its inventory, once it has applied the revision it last attempted.

kustomize-controller records every object it applied in `status.inventory.entries` (fluxcd/cli-utils ids,
`<namespace>_<name>_<group>_<kind>`, and the version). It sets `lastAttemptedRevision` when it starts on a
revision and `lastAppliedRevision` only once that revision is applied and, with `wait: true`, healthy; `Ready`
is Unknown while it works. So the gate waits until the two revisions agree and `Ready` is decided, within the
rollout deadline. The object is read from the cluster: untrusted, its shape is checked (gate/schema.py) first.

A HelmRelease (helm-controller) is waited for the same way (its `Ready` condition decided for its generation);
its touched set is then the manifest of the Helm release it made, read from Helm's storage as `--helm-release`
reads it (gate/helm.py): helm-controller always stores releases in Secrets, in `status.storageNamespace`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gate.cluster import Cluster, Resource
from gate.errors import ClusterError, ManifestError, UsageError
from gate.findings import Finding, Outcome, Phase
from gate.helm import Release, find_release, release_findings, release_touched
from gate.kinds import BUILTIN_RESOURCES
from gate.objects import Object, ObjectRef, dig, kind_group
from gate.schema import FLUX_HELMRELEASE, FLUX_INVENTORY_ID, FLUX_KUSTOMIZATION, Spec, validate_live
from gate.verify.engine import Touched

KUSTOMIZATIONS = Resource("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
HELMRELEASES = Resource("HelmRelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases")
RULE = "flux-kustomization"
HELMRELEASE_RULE = "flux-helmrelease"
# Helm's longest release name; helm-controller shortens a longer '[targetNamespace-]name' (its release.ShortenName).
RELEASE_NAME_MAX = 53
RELEASE_HASH_LENGTH = 12
POLL_SECONDS = 1.0
# Ready=False reasons that are not a verdict: kustomize-controller retries them by itself.
RETRIED_REASONS = ("DependencyNotReady",)
# The one Ready=False reason after which the inventory holds the attempted revision's objects (the controller
# records it before its health checks): verifying them names the cause behind Flux's message.
HEALTH_CHECK_FAILED = "HealthCheckFailed"


class State(Enum):
    APPLIED = "applied"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class Judgement:
    state: State
    message: str
    inventory_current: bool = False  # the inventory lists the objects of the revision judged


def _ready(kustomization: Object) -> dict[str, object] | None:
    for condition in dig(kustomization, "status", "conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def judge(flux_object: Object, revisions: bool = True) -> Judgement:
    """Applied, still pending (and why), or failed with Flux's own reason and message; from one read. `revisions`:
    also wait until the last attempted revision is the applied one (a Kustomization records both)."""
    ready = _ready(flux_object)
    generation = dig(flux_object, "metadata", "generation")
    suspended = " (it is suspended: spec.suspend)" if dig(flux_object, "spec", "suspend") else ""
    if ready is None or ready.get("status") not in ("True", "False"):
        said = f": {ready.get('message')}" if ready and ready.get("message") else ""
        return Judgement(State.PENDING, f"Ready is {'not set' if ready is None else 'Unknown'}{said}{suspended}")
    observed = ready.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return Judgement(State.PENDING, f"the controller has not reconciled generation {generation} yet "
                                        f"(Ready is of generation {observed}){suspended}")
    reason, message = ready.get("reason") or "", ready.get("message") or ""
    if ready["status"] == "False":
        if reason in RETRIED_REASONS:
            return Judgement(State.PENDING, f"{reason}: {message}{suspended}")
        return Judgement(State.FAILED, f"not Ready ({reason}): {message}", reason == HEALTH_CHECK_FAILED)
    applied = dig(flux_object, "status", "lastAppliedRevision") or ""
    attempted = dig(flux_object, "status", "lastAttemptedRevision") or ""
    if revisions and applied != attempted:
        return Judgement(State.PENDING, f"applied revision {applied or '(none)'}, not yet the attempted "
                                        f"{attempted}{suspended}")
    return Judgement(State.APPLIED, f"applied revision {applied}" if revisions else f"Ready: {message or reason}",
                     True)


def inventory(kustomization: Object) -> list[Touched]:
    """The inventory as touched objects. The ids were checked against FLUX_INVENTORY_ID by validate_live."""
    touched = []
    for entry in dig(kustomization, "status", "inventory", "entries") or []:
        parts = FLUX_INVENTORY_ID.fullmatch(entry["id"])
        assert parts is not None  # validate_live checked every id
        group, kind = parts["group"] or "", parts["kind"]
        name = parts["name"].replace("__", ":")  # fluxcd/cli-utils writes an RBAC name's ':' as '__'
        api_version = f"{group}/{entry['v']}" if group else entry["v"]
        touched.append(Touched(ObjectRef(kind, parts["namespace"], name, kind_group(kind, api_version)),
                               api_version))
    return touched


def _decided(cluster: Cluster, resource: Resource, name: str, namespace: str, until: float, flag: str,
             schema: Spec, sleep: Callable[[float], object]) -> tuple[Object, Judgement]:
    """The Flux object once its controller has decided it (or the deadline came first), checked like a manifest."""
    try:
        cluster.resource_for(resource.kind, resource.api_version, flag)
    except ManifestError as error:
        raise ClusterError(f"the cluster does not serve {resource.api_version} {resource.kind}s "
                           "(is Flux installed?)") from error
    cluster.bound(until)
    try:
        while True:
            obj = cluster.get(resource, namespace, name)
            if obj is None:
                raise UsageError(f"{flag}: no {resource.kind} {name!r} in namespace {namespace}")
            validate_live(obj, resource.kind, schema)
            judgement = judge(obj, revisions=resource is KUSTOMIZATIONS)
            if judgement.state is not State.PENDING:
                return obj, judgement
            if time.monotonic() + POLL_SECONDS >= until:
                return obj, Judgement(State.FAILED, f"not applied within the rollout deadline: {judgement.message}")
            sleep(POLL_SECONDS)
    finally:
        cluster.bound(None)


def _finding(rule: str, subject: ObjectRef, title: str, judgement: Judgement, started: float) -> Finding:
    return Finding(Phase.ROLLOUTS, rule, subject, title,
                   Outcome.PASSED if judgement.state is State.APPLIED else Outcome.FAILED,
                   f"{subject.qualified}: {judgement.message}", seconds=time.monotonic() - started)


def kustomization_resources(cluster: Cluster, name: str, namespace: str, until: float,
                            sleep: Callable[[float], object] = time.sleep) -> tuple[list[Touched], Finding]:
    """The inventory of Kustomization `name` once it has applied what it attempted (waiting up to `until`,
    time.monotonic()), with the Kustomization's own check: passed, or failed with Flux's message (then the
    inventory only when it holds the failed revision's objects)."""
    subject = ObjectRef(KUSTOMIZATIONS.kind, namespace, name, KUSTOMIZATIONS.group)
    started = time.monotonic()
    kustomization, judgement = _decided(cluster, KUSTOMIZATIONS, name, namespace, until, "--flux-kustomization",
                                        FLUX_KUSTOMIZATION, sleep)
    touched = inventory(kustomization) if judgement.inventory_current else []
    if judgement.state is State.APPLIED and not touched:
        raise UsageError(f"--flux-kustomization: Kustomization {namespace}/{name} lists no objects in "
                         "status.inventory.entries")
    return touched, _finding(RULE, subject, f"{subject} applied its last attempted revision", judgement, started)


def shortened(name: str) -> str:
    """A release name as helm-controller shortens one longer than Helm allows: 40 characters, '-', 12 of its
    sha256."""
    if len(name) <= RELEASE_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:RELEASE_HASH_LENGTH]
    return f"{name[:RELEASE_NAME_MAX - RELEASE_HASH_LENGTH - 1]}-{digest}"


def release_of(helmrelease: Object) -> tuple[str, str]:
    """The Helm release's name and the namespace its records are stored in: the controller's own record of its
    latest release (status.history[0]) and status.storageNamespace first, else what it computes from the spec."""
    history = dig(helmrelease, "status", "history") or []
    spec = helmrelease.get("spec") or {}
    own_namespace = helmrelease["metadata"]["namespace"]
    storage = dig(helmrelease, "status", "storageNamespace") or spec.get("storageNamespace") or own_namespace
    if history and history[0].get("name"):
        return history[0]["name"], storage
    target = spec.get("targetNamespace")
    named = spec.get("releaseName") or (f"{target}-{helmrelease['metadata']['name']}" if target else
                                         helmrelease["metadata"]["name"])
    return shortened(named), storage


def helmrelease_resources(cluster: Cluster, name: str, namespace: str, until: float,
                          sleep: Callable[[float], object] = time.sleep
                          ) -> tuple[list[Touched], list[Finding], tuple[str, ...], Release | None]:
    """The objects of the Helm release HelmRelease `name` made, once helm-controller has decided it (up to
    `until`): the HelmRelease's own check, the release's (Helm's status of its latest revision) and its notes,
    as --helm-release gives them (gate.helm.release_findings)."""
    subject = ObjectRef(HELMRELEASES.kind, namespace, name, HELMRELEASES.group)
    started = time.monotonic()
    helmrelease, judgement = _decided(cluster, HELMRELEASES, name, namespace, until, "--flux-helmrelease",
                                      FLUX_HELMRELEASE, sleep)
    findings = [_finding(HELMRELEASE_RULE, subject, f"{subject} is Ready", judgement, started)]
    release_name, storage_namespace = release_of(helmrelease)
    # helm-controller always uses Helm's default (Secret) storage, whatever HELM_DRIVER says here.
    release = find_release(cluster, release_name, storage_namespace, BUILTIN_RESOURCES["Secret"])
    if release is None:
        if judgement.state is State.APPLIED:
            raise UsageError(f"--flux-helmrelease: HelmRelease {namespace}/{name} is Ready but Helm stores no "
                             f"release {release_name!r} in namespace {storage_namespace}")
        return [], findings, (), None  # nothing installed yet: Flux's message is the verdict
    release_checks, notes = release_findings(release)
    return release_touched(release), findings + release_checks, notes, release
