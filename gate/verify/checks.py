"""Pure checks of `verify` over a snapshot of live objects: rollouts and endpoints.

Given the objects the watchers hold at one instant, each check says whether it
passed, failed for good, or is still pending, and why. The watch loop
(gate/verify/engine.py) only feeds snapshots and deadlines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from gate.endpoints import Candidate, closest_gap, own_selector, port_gaps, ready_endpoints, service_selector
from gate.findings import Outcome, Phase
from gate.kinds import CONTROLLER_LABEL_KEYS, OWNED_IN_TURN, POD, SELECTOR_KINDS, spec_for
from gate.labels import PodLabels, Selector, format_labels
from gate.location import Location
from gate.objects import Object, ObjectRef, dig, is_workload, kind_group, template_labels, template_labels_path
from gate.schema import MalformedObject
from gate.status import STALE, Result, Status, compute, is_true
from gate.status.pods import PodProblem, pod_problems, why_not_ready
from gate.verify.snapshot import SERVICE_NAME_LABEL, Snapshot, owner_chain

PENDING = None  # a verdict's outcome until the check is decided (the engine's deadlines decide the rest)


@dataclass(frozen=True)
class Verdict:
    """One check at one instant."""

    outcome: Outcome | None  # PENDING, or the finding's outcome: passed or failed
    message: str
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    pods_to_explain: tuple[str, ...] = ()  # pods whose warning events belong in the evidence
    fix_location: Location | None = None  # where the fix goes, when a manifest says
    needs_pod_sources: bool = False  # definitive, unless custom resources in the namespace may create the pods
    # A failure waiting cannot change; else it fails only at its deadline (the engine decides: `at_deadline`).
    definitive: bool = True
    pods_may_come_from: tuple[str, ...] = ()  # why a failure is not definitive yet, named in the final message


@dataclass
class Check:
    """One check's identity and where it stands."""

    phase: Phase
    ref: ObjectRef
    title: str
    rule: str
    verdict: Verdict = field(default_factory=lambda: Verdict(PENDING, "waiting for the first snapshot"))
    seconds: float = 0.0
    locations: tuple[Location, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What the checks know besides the snapshot."""

    touched: set[ObjectRef]
    locations: dict[ObjectRef, Location]  # where: touched workloads' template labels and Services' selectors
    # What may create pods verify cannot foresee, per namespace; None: not looked up yet (see endpoints_verdict).
    pod_sources: dict[str | None, tuple[str, ...] | None]
    rollout_timed_out: bool


def evaluate(checks: Iterable[Check], snapshot: Snapshot, context: Context, now: datetime) -> list[Verdict]:
    """Each check's verdict at this instant. Pure: the engine applies the endpoints deadline and outages."""
    settled: set[str | None] | None = None
    verdicts = []
    for check in checks:
        ref = check.ref
        if check.phase == Phase.ROLLOUTS:
            obj = snapshot.get(ref.kind, ref.namespace, ref.name, ref.group)
            verdicts.append(rollout_verdict(obj, snapshot, now, context.rollout_timed_out))
            continue
        settled = settled_namespaces(context.touched, snapshot) if settled is None else settled
        verdicts.append(endpoints_verdict(
            snapshot.get("Service", ref.namespace, ref.name), ref, snapshot, touched=context.touched,
            locations=context.locations, workloads_settled=ref.namespace in settled,
            pod_sources=context.pod_sources.get(ref.namespace, ())))
    return verdicts


def settled_namespaces(touched: Iterable[ObjectRef], snapshot: Snapshot) -> set[str | None]:
    """Namespaces whose touched workloads all exist.

    A workload's live template is what its controller gives every pod it will
    create, whether or not the controller has observed it yet: 1,000 rollouts at
    once keep the Deployment controller minutes behind, and waiting for it would
    only delay a verdict the templates already decide.
    """
    missing = {ref.namespace for ref in touched
               if ref.runs_pods and snapshot.get(ref.kind, ref.namespace, ref.name, ref.group) is None}
    return {ref.namespace for ref in touched} - missing


def _uid(obj: Object) -> str:
    return dig(obj, "metadata", "uid") or ""


def workload_pods(workload: Object, snapshot: Snapshot, current_only: bool = True) -> list[Object]:
    """The pods a workload runs, down the owner chain its kind's spec gives (gate.kinds `owns`): a Deployment's
    or an Argo Rollout's through their ReplicaSets (only the current revision's when asked), a CronJob's
    through its Jobs, any other's directly."""
    namespace = dig(workload, "metadata", "namespace")
    known = spec_for(str(workload.get("kind", "")), workload.get("apiVersion"))
    if known is not None and known.key == POD:
        return [workload]
    owners = [workload]
    if known is not None and known.owns is not None:
        owns_group, owns_kind = known.owns
        owners = snapshot.owned_by(owns_kind, namespace, _uid(workload), owns_group)
        annotation = known.revision_annotation
        revision = dig(workload, "metadata", "annotations", annotation) if annotation else None
        if current_only and revision:
            owners = [owner for owner in owners
                      if dig(owner, "metadata", "annotations", annotation) == revision] or owners
    return [pod for owner in owners for pod in snapshot.owned_by("Pod", namespace, _uid(owner))]


def rollout_verdict(obj: Object | None, snapshot: Snapshot, now: datetime, timed_out: bool) -> Verdict:
    """Current passes; Failed, or solid pod evidence, fails at once; the deadline fails the rest.

    The pods are evidence only: when one is malformed, the workload's own status still decides, and says so.
    """
    result: Result = compute(obj)
    if result.status is Status.CURRENT:
        return Verdict(Outcome.PASSED, result.message)
    problems: list[PodProblem] = []
    unread: tuple[str, ...] = ()
    if obj is not None and is_workload(obj):
        try:
            problems = [p for pod in workload_pods(obj, snapshot) for p in pod_problems(pod, now)]
        except MalformedObject as malformed:
            unread = (f"pods not read: {malformed}",)
    final = [p for p in problems if p.final]
    evidence = tuple(str(p) for p in problems) + unread
    pods = tuple(dict.fromkeys(p.pod for p in problems))
    if result.status is Status.FAILED:
        return Verdict(Outcome.FAILED, result.message, evidence, pods_to_explain=pods)
    if final:
        return Verdict(Outcome.FAILED, f"{final[0]} ({result.message})", evidence, pods_to_explain=pods)
    if timed_out:
        status = "not found" if result.status is Status.NOT_FOUND else result.message
        if result.message.startswith(STALE):
            status += ("; its status is stale: the controller that owns it (kube-controller-manager for built-in "
                       "kinds) is not acting on it")
        return Verdict(Outcome.FAILED, f"timed out: {status}", evidence, pods_to_explain=pods)
    return Verdict(PENDING, result.message, evidence)


def _ready_endpoints_by_port(slices: list[Object]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for endpoint_slice in slices:
        ready = ready_endpoints(endpoint_slice)
        for port in endpoint_slice.get("ports") or []:
            counts[port.get("name") or ""] += ready
    return counts


def _owner_workload(pod: Object, snapshot: Snapshot) -> Object | None:
    """The top owner of a pod (a Deployment or Rollout through its ReplicaSet), or None for a bare pod."""
    top = None
    for owner in owner_chain(pod, dig(pod, "metadata", "namespace"), snapshot):
        top = owner
        known = spec_for(str(owner.get("kind", "")), owner.get("apiVersion"))
        if known is None or known.key not in OWNED_IN_TURN:
            break
    return top


def _candidates(namespace: str, pods: list[Object], snapshot: Snapshot, touched: set[ObjectRef],
                locations: dict[ObjectRef, Location]) -> list[Candidate]:
    """Live pods grouped by workload; touched workloads first (the gate is about them)."""
    groups: dict[ObjectRef, list[Object]] = defaultdict(list)
    workloads: dict[ObjectRef, Object] = {}
    for pod in pods:
        owner = _owner_workload(pod, snapshot) or pod
        ref = ObjectRef(owner.get("kind", "Pod"), namespace, dig(owner, "metadata", "name") or "",
                        kind_group(owner.get("kind", "Pod"), owner.get("apiVersion")))
        groups[ref].append(pod)
        workloads[ref] = owner
    ordered = sorted(groups, key=lambda r: (r not in touched, str(r)))
    candidates = []
    for ref in ordered:
        running = [p for p in groups[ref] if dig(p, "status", "phase") == "Running"]
        candidates.append(Candidate(ref, template_labels(groups[ref][0]), template_labels_path(workloads[ref]),
                                    locations.get(ref), len(running), own_selector(workloads[ref])))
    return candidates


def _revision(workload: Object) -> bool:
    """A ReplicaSet its controller owns (a Deployment's, a Rollout's) is a revision: its template says what the
    pods were, its owner's what they will be. Old revisions stay, scaled to zero, with the labels a change removed:
    counted as workloads, they would pass the incident as "scaled to zero"."""
    return workload.get("kind") == "ReplicaSet" and any(
        owner.get("controller") for owner in dig(workload, "metadata", "ownerReferences") or [])


def _scaled_to_zero(service_selector_matches: list[Object]) -> bool:
    return bool(service_selector_matches) and all(
        (dig(w, "spec", "replicas") if dig(w, "spec", "replicas") is not None else 1) == 0
        for w in service_selector_matches)


def _selector_less(ref: ObjectRef, slices: list[Object]) -> Verdict:
    """A Service without a selector has the endpoints someone created by hand, or none."""
    endpoints = sum(len(s.get("endpoints") or []) for s in slices)
    if endpoints:
        return Verdict(Outcome.PASSED, f"selector-less service: {len(slices)} manual EndpointSlice(s) with "
                                     f"{endpoints} endpoint(s)")
    return Verdict(Outcome.FAILED,
                   f"{ref} has no selector and no EndpointSlice with endpoints (label {SERVICE_NAME_LABEL}="
                   f"{ref.name})", fix=(f"create an EndpointSlice labelled {SERVICE_NAME_LABEL}={ref.name}",),
                   definitive=False)


def _selector_gap(ref: ObjectRef, selector: Selector, pods: list[Object], snapshot: Snapshot, touched: set[ObjectRef],
                  locations: dict[ObjectRef, Location], nothing_will: bool, sources: tuple[str, ...]) -> Verdict:
    """No pod matches the selector: the gap to the pods evidently meant, definitive when nothing will create them."""
    namespace = ref.namespace
    assert namespace is not None
    definitive = nothing_will and not sources
    gap = closest_gap(ref, selector, _candidates(namespace, pods, snapshot, touched, locations), locations.get(ref))
    if gap is None:
        return Verdict(Outcome.FAILED, f"{ref} selects {selector}; no pod in namespace {namespace} matches, and "
                       f"none was evidently meant for it", definitive=definitive and bool(pods),
                       pods_may_come_from=sources)
    evidence = [f"pod labels: {format_labels(gap.candidate.labels)}"]
    if gap.candidate.labels_location:
        evidence.append(f"pod template labels at {gap.candidate.labels_location}")
    return Verdict(Outcome.FAILED, gap.message, tuple(evidence), tuple(gap.fix()), fix_location=gap.fix_location,
                   definitive=definitive, pods_may_come_from=sources)


def endpoints_verdict(service: Object | None, ref: ObjectRef, snapshot: Snapshot, *, touched: set[ObjectRef],
                      locations: dict[ObjectRef, Location], workloads_settled: bool,
                      pod_sources: tuple[str, ...] | None = ()) -> Verdict:
    """Ready endpoints for every Service port, else the cause in the order an engineer checks.

    A failure says whether it is definitive; the engine's deadline policy decides when it is final.

    workloads_settled: every touched workload of the namespace exists and its controller has
    observed its current template. Then, if no pod and no workload template in the namespace
    matches the selector, nothing will ever create a matching pod: the gap is definitive without
    waiting for the rollouts themselves, unless something else may still create them.
    pod_sources: those other creators (custom resources, kinds verify does not model); None when
    not looked up yet, and then a verdict that would be definitive asks for them instead.
    """
    if service is None:
        return Verdict(Outcome.FAILED, f"{ref} not found in the cluster", definitive=False)
    namespace = ref.namespace
    slices = snapshot.slices_of(namespace, ref.name)
    if dig(service, "spec", "type") == "ExternalName":
        return Verdict(Outcome.PASSED, f"ExternalName service ({dig(service, 'spec', 'externalName')}): "
                                     "no endpoints expected")
    selector = service_selector(service)
    ports = dig(service, "spec", "ports") or []
    if selector is None:
        return _selector_less(ref, slices)
    ready = _ready_endpoints_by_port(slices)
    missing = [p for p in ports if ready.get(p.get("name") or "", 0) == 0]
    total = sum(ready.values()) // max(len(ports), 1)
    if ports and not missing:
        return Verdict(Outcome.PASSED, f"{total} ready endpoint(s) on every port")
    return _without_ready_endpoints(service, ref, selector, missing, snapshot, touched, locations, workloads_settled,
                                    pod_sources)


def _without_ready_endpoints(service: Object, ref: ObjectRef, selector: Selector, missing: list[Object],
                             snapshot: Snapshot, touched: set[ObjectRef], locations: dict[ObjectRef, Location],
                             workloads_settled: bool, pod_sources: tuple[str, ...] | None) -> Verdict:
    """Why some port has no ready endpoint: no pod matches, none is Ready, or they lack the named targetPort."""
    namespace = ref.namespace
    pods = snapshot.of("Pod", namespace)
    matching = [p for p in pods if selector.matches(template_labels(p))]
    workloads = [w for kind in sorted(SELECTOR_KINDS) for w in snapshot.of(kind, namespace)
                 if not _revision(w) and selector.may_match(PodLabels.of_template(w))]
    if not matching and _scaled_to_zero(workloads):
        names = ", ".join(f"{w['kind'].lower()}/{dig(w, 'metadata', 'name')}" for w in workloads)
        return Verdict(Outcome.PASSED, f"scaled to zero ({names}): no endpoints expected")

    if not matching:
        # No template in the namespace would match either, and no controller-added label (a pod name, a
        # hash) is involved whose pods may simply not exist yet.
        nothing_will = workloads_settled and not workloads and not any(
            r.key in CONTROLLER_LABEL_KEYS for r in selector.requirements)
        if nothing_will and pod_sources is None:
            return Verdict(PENDING, f"{ref} selects {selector}; no pod matches yet", needs_pod_sources=True)
        return _selector_gap(ref, selector, pods, snapshot, touched, locations, nothing_will, pod_sources or ())
    ready_pods = [p for p in matching if is_true(p, "Ready")]
    if not ready_pods:
        reasons = tuple(why_not_ready(p) for p in matching[:3])
        names = tuple(dig(p, "metadata", "name") for p in matching[:3])
        return Verdict(Outcome.FAILED, f"{ref}: {len(matching)} pod(s) match {selector} but none is Ready", reasons,
                       pods_to_explain=names, definitive=False)
    gaps = port_gaps(service, ready_pods[0])
    named = [g for g in gaps if g.named]
    if named:
        pod_name = dig(ready_pods[0], "metadata", "name")
        return Verdict(Outcome.FAILED, f"{ref}: {named[0].message(f'pod/{pod_name}')}",
                       fix=(f"name a container port {named[0].target!r} in the pod template, or set targetPort "
                            "to the container's port number",))
    names = ", ".join(p.get("name") or str(p.get("port")) for p in missing)
    return Verdict(Outcome.FAILED, f"{ref}: {len(ready_pods)} Ready pod(s) match but port(s) {names} have no ready "
                   "endpoint yet", definitive=False)
