"""Declared caller pairs: resolve caller and target in an inventory, give the static verdict.

A target written without a namespace resolves in the caller's namespace, as the
short Service name does in the caller's pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.config import ANY_WORKLOAD, Caller, Pair, Target
from gate.endpoints import closest_gap, port_gap, service_selector, target_port, template_candidates
from gate.findings import Outcome, Severity
from gate.inventory import Inventory
from gate.kinds import WORKLOAD_KINDS
from gate.labels import IDENTITY_LABELS, near_miss
from gate.location import Location, known
from gate.netpol import DEFAULT_DNS, Connection, ContainerPort, PodSide, PolicyVerdict, evaluate
from gate.objects import (
    Object,
    ObjectRef,
    containers,
    dig,
    pod_template,
    port_number,
    template_labels,
)


class Unresolvable(Exception):
    """The inventory lacks what the pair names: not checkable, not failed."""


@dataclass(frozen=True)
class Backend:
    """A pod (template) behind the target Service, and the pod port the Service sends to."""

    pod: PodSide
    port: int
    protocol: str
    note: str | None = None  # the pods do not declare the port: whether they listen there, and how likely
    port_fix: tuple[str, ...] = ()  # the targetPort is likely wrong: point it at the port the pods declare


@dataclass(frozen=True)
class ResolvedPair:
    pair: Pair
    caller: PodSide
    service: Object
    backends: tuple[Backend, ...]
    assumption: str | None = None  # set when the backends are assumed because the selector matches nothing
    no_backends: str | None = None  # why the Service has no endpoints for the port, judged before any policy
    misdirected: str | None = None  # why the Service evidently selects another application's pods

    @property
    def namespace(self) -> str:
        return self.caller.namespace

    @property
    def notes(self) -> tuple[str, ...]:
        """The backends' notes about an undeclared targetPort, each once."""
        return tuple(dict.fromkeys(b.note for b in self.backends if b.note))


def _pod_ports(pod_or_template: Object) -> tuple[ContainerPort, ...]:
    return tuple(ContainerPort(number, str(p.get("protocol", "TCP")), p.get("name"))
                 for c in containers(pod_or_template) for p in c.get("ports") or []
                 if isinstance(p, dict) and (number := port_number(p.get("containerPort"))) is not None)


class NearMiss(Unresolvable):
    """The name is not in the set, but one a typo away is: a mistake in gate.yaml, not an object elsewhere."""


def _typo_of(written: str, meant: str) -> bool:
    """A near miss, or two adjacent letters swapped (`wbe` for `web`: too short for near_miss to judge)."""
    swapped = [i for i in range(len(written)) if len(written) == len(meant) and written[i] != meant[i]]
    return near_miss(written, meant) or (len(swapped) == 2 and swapped[1] == swapped[0] + 1 and
                                         written[swapped[0]] == meant[swapped[1]] and
                                         written[swapped[1]] == meant[swapped[0]])


def _unique(found: list[Object], what: str, near: list[ObjectRef] | None = None) -> Object:
    """The one object found; else why not, naming the first of `near` (objects of the set a typo away)."""
    if not found:
        if near:
            raise NearMiss(f"{what} is not in the set (did you mean {near[0]}?)")
        raise Unresolvable(f"{what} is not in the set")
    if len(found) > 1:
        raise Unresolvable(f"{what} exists in several namespaces; name the namespace")
    return found[0]


def resolve_caller(caller: Caller, inventory: Inventory) -> PodSide:
    if caller.workload:
        kind, name = caller.workload
        kinds = sorted(WORKLOAD_KINDS) if kind == ANY_WORKLOAD else [kind]
        found = [w for k in kinds for w in inventory.find(k, name, caller.namespace)]
        near = [ref for w in inventory.workloads(caller.namespace) if kind in (ANY_WORKLOAD, w.get("kind"))
                and _typo_of(name, (ref := inventory.ref(w)).name)]
        workload = _unique(found, f"{kind.lower()}/{name}" if kind != ANY_WORKLOAD else f"workload {name}", near)
        template = pod_template(workload) or {}
        return PodSide(inventory.ref(workload).namespace or inventory.default_namespace,
                        template_labels(workload), str(inventory.ref(workload)), ports=_pod_ports(template))
    return PodSide(caller.namespace or inventory.default_namespace, dict(caller.labels), str(caller))


def _service_port(service: Object, target: Target) -> Object:
    for port in dig(service, "spec", "ports") or []:
        if port.get("port") == target.port or (port.get("name") and port.get("name") == target.port):
            return port
    known = ", ".join(f"{p.get('name') + '=' if p.get('name') else ''}{p.get('port')}"
                      for p in dig(service, "spec", "ports") or [])
    raise Unresolvable(f"service/{target.service} has no port {target.port} (ports: {known or 'none'})")


def _target_port_on(pod_ports: tuple[ContainerPort, ...], service_port: Object) -> int | None:
    target = target_port(service_port)
    protocol = service_port.get("protocol", "TCP")
    number = port_number(target)
    if number is not None:
        return number
    return next((p.port for p in pod_ports if p.name == target and p.protocol == protocol), None)


def resolve(pair: Pair, inventory: Inventory) -> ResolvedPair:
    """Find the caller, the Service and the pod templates it selects (the backends).

    The Service's own wiring comes first, as an engineer checks it: a selector that points at another
    application, or a named targetPort no container defines, would make any policy verdict (and its fix)
    about the wrong pods or port. Such a pair has no backends, and `no_backends` says why. An undeclared
    numeric targetPort still has endpoints: its backend is judged, with a note on the port.
    """
    caller = resolve_caller(pair.caller, inventory)
    namespace = pair.target.namespace or caller.namespace
    service = _unique(inventory.find("Service", pair.target.service, namespace),
                      f"service/{pair.target.service} in namespace {namespace}")
    service_port = _service_port(service, pair.target)
    selector = service_selector(service)
    if selector is None:
        raise Unresolvable(f"service/{pair.target.service} has no selector: its backends are not pods in the set")
    workloads = inventory.workloads(namespace)
    backing = inventory.selected(selector, namespace)
    assumption = no_endpoints = None
    if not backing:
        # The selector matches nothing (the incident's Bug 1): judge the policies against the
        # workload that was evidently meant to back the Service, and say so.
        gap = closest_gap(inventory.ref(service), selector, template_candidates(
            ((w, None) for w in workloads), namespace))
        if gap is None:
            return ResolvedPair(pair, caller, service, (), None,
                                f"its selector {selector} matches no pod template in the set")
        meant = {c.workload for c in gap.served or (gap.candidate,)}  # every version it evidently served
        backing = [w for w in workloads if inventory.ref(w) in meant]
        assumption = f"{gap.candidate.workload}, which it was meant to select"
        no_endpoints = gap.pods_gap
    elif wrong := _other_application(pair.target.service, backing, workloads, inventory):
        return ResolvedPair(pair, caller, service, (), misdirected=wrong)
    backends, skipped = [], []
    index = next(i for i, p in enumerate(dig(service, "spec", "ports")) if p is service_port)
    templates = [(str(inventory.ref(w)), pod_template(w) or {}) for w in backing]
    for workload, (name, template) in zip(backing, templates, strict=True):
        ports = _pod_ports(template)
        port = _target_port_on(ports, service_port)
        if port is None:
            skipped.append(f"targetPort {service_port.get('targetPort')!r} names no container port of {name}")
            continue
        # A number gets endpoints whether or not a container declares it: judge the policies, note the doubt.
        gap = port_gap(service, index, template, [sibling for sibling in templates if sibling[0] != name])
        pod = PodSide(namespace, template_labels(workload), name, ports=ports)
        port_fix = tuple(gap.fix(inventory.ref(workload), inventory.ref(service), inventory.location(
            service, "spec", "ports"))) if gap and gap.likely_wrong else ()
        backends.append(Backend(pod, port, str(service_port.get("protocol", "TCP")),
                                gap.message(name) if gap else None, port_fix))
    return ResolvedPair(pair, caller, service, tuple(backends), assumption,
                        no_endpoints or (None if backends else "; ".join(skipped)))


def _other_application(service: str, backing: list[Object], workloads: list[Object], inventory: Inventory
                       ) -> str | None:
    """Why the Service evidently selects another application's pods, or None.

    Evident: a workload of the Service's own name exists, is not selected, and names its application
    (app, app.kubernetes.io/name, ...) differently from every selected one. Blue/green pairs share
    their application label and are not flagged.
    """
    own = next((w for w in workloads if inventory.ref(w).name == service and w not in backing), None)
    if own is None:
        return None
    own_labels = template_labels(own)
    key = next((k for k in IDENTITY_LABELS if k in own_labels), None)
    if key is None or any(template_labels(w).get(key) == own_labels[key] for w in backing):
        return None
    selected = ", ".join(str(inventory.ref(w)) for w in backing)
    return (f"service/{service} selects {selected}, not {inventory.ref(own)} ({key}={own_labels[key]}): "
            f"fix the Service's selector before judging policies")


def deciding(verdicts: list[tuple[Backend, PolicyVerdict]], expect_allow: bool) -> tuple[Backend, PolicyVerdict] | None:
    """The backend's verdict that contradicts the expectation, else the first one (None: no backend)."""
    return next(((b, v) for b, v in verdicts if v.allowed != expect_allow), verdicts[0] if verdicts else None)


def pair_fixes(backend: Backend, verdict: PolicyVerdict) -> tuple[str, ...]:
    """The fixes for a backend's verdict: for a denial through a targetPort that is likely wrong, the targetPort's
    (opening a port the pods likely do not listen on fixes nothing); else the policies'."""
    return backend.port_fix if backend.port_fix and not verdict.allowed else tuple(verdict.fixes())


def static_verdicts(resolved: ResolvedPair, inventory: Inventory, incomplete: str | None = None,
                    dns: PodSide | None = DEFAULT_DNS) -> list[tuple[Backend, PolicyVerdict]]:
    """One verdict per backend (they may differ when policies select some backends only)."""
    policies = inventory.policies()
    return [(backend, evaluate(policies, Connection(resolved.caller, backend.pod, backend.port, backend.protocol),
                               inventory.namespace_labels, dns, incomplete))
            for backend in resolved.backends]


@dataclass(frozen=True)
class PairVerdict:
    """The static verdict of one pair: the one text lint, explain and verify give for it.

    `message` says whether the caller connects and why, without the expectation (explain has none);
    `outcome` holds it against the pair's expectation.
    """

    outcome: Outcome
    message: str
    connects: bool | None  # None: not judged (the Service evidently selects another application)
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()  # after the pair's own: the Service's selector, the deciding policies' rules
    decided: tuple[Backend, PolicyVerdict] | None = None  # the policies' verdict verify combines with the probe
    verdicts: tuple[tuple[Backend, PolicyVerdict], ...] = ()  # every backend's
    no_endpoints: bool = False  # the Service has no endpoints for the port: nobody connects
    severity: Severity = Severity.ERROR  # a warning: failed, but for a cause another check reports as the error


def _to(backend: Backend) -> str:
    return f"{backend.pod.name} port {backend.port}/{backend.protocol}"


def _keep_out_fix(pair: Pair, backend: Backend, verdict: PolicyVerdict) -> tuple[str, ...]:
    """For a caller that must not connect and would: the admitting peer to remove, or the policy to add."""
    admitted = verdict.ingress.admitted_by
    return (f"remove the peer admitting {pair.caller} from {admitted.split(' ')[0]}" if admitted else
            f"add a NetworkPolicy selecting {backend.pod.name} whose ingress rules do not admit {pair.caller}",)


def judge(resolved: ResolvedPair, inventory: Inventory, incomplete: str | None = None,
          dns: PodSide | None = DEFAULT_DNS) -> PairVerdict:
    """Whether the pair's caller connects to its Service port (the target's ingress, the caller's egress and
    its DNS lookup), and whether that is what the pair expects."""
    if resolved.misdirected:
        return PairVerdict(Outcome.NOT_CHECKABLE, f"not judged: {resolved.misdirected}", None)
    verdicts = tuple(static_verdicts(resolved, inventory, incomplete, dns))
    decided = deciding(list(verdicts), resolved.pair.expect_allow)
    if resolved.no_backends:
        return _without_endpoints(resolved, inventory, verdicts, decided)
    assert decided is not None  # resolve gives backends or says why there are none
    backend, verdict = decided
    pair = resolved.pair
    locations = _policy_locations(inventory, verdict, backend.pod.namespace, resolved.caller.namespace)
    evidence = tuple(verdict.explanation()) + tuple(f"{_to(b)}: {v.summary()}" for b, v in verdicts
                                                    if (b, v) != decided) + tuple(f"note: {n}" for n in resolved.notes)
    message = (f"connects to {_to(backend)} ({verdict.summary()})" if verdict.allowed else
               f"cannot connect to {_to(backend)}: {verdict.summary()}")
    if verdict.allowed == pair.expect_allow:
        return PairVerdict(Outcome.PASSED, message, verdict.allowed, evidence, (), locations, decided, verdicts)
    fix = tuple(dict.fromkeys(f for b, v in verdicts for f in pair_fixes(b, v))) if pair.expect_allow else \
        _keep_out_fix(pair, backend, verdict)
    return PairVerdict(Outcome.FAILED, message, verdict.allowed, evidence, fix, locations, decided, verdicts)


def _without_endpoints(resolved: ResolvedPair, inventory: Inventory,
                       verdicts: tuple[tuple[Backend, PolicyVerdict], ...],
                       decided: tuple[Backend, PolicyVerdict] | None) -> PairVerdict:
    """A Service without endpoints for the port connects nobody, whatever the policies say.

    Its cause (a selector gap, a targetPort) is the Service's own check's error, with the one fix. An
    expect-allow pair fails with it, as a warning so that one cause is one error: only when that check is
    certain too (a workload of the set was evidently meant for the selector, and no custom resource of the
    namespace may create the pods instead); the message names the cause and points at the selector, and
    the pair gives no fix of its own. Otherwise it is not checkable, with the same message. An expect-deny
    pair is held against the policies of the workload the Service was meant to select: fixing the selector
    must not let it in.
    """
    pair = resolved.pair
    message = f"cannot connect: service/{pair.target.service} has no endpoints ({resolved.no_backends})"
    locations: tuple[Location, ...] = ()
    if resolved.assumption:  # the message is the same from manifests and live objects; the selector's line
        locations = known(inventory.location(resolved.service, "spec", "selector"))  # is a location
        message += "; the cause is its selector, reported on the Service"
    evidence: tuple[str, ...] = ()
    if decided is not None:
        backend, verdict = decided
        message += (f"; policies would {'allow' if verdict.allowed else 'deny'} {_to(backend)}, which it was meant "
                    f"to select ({verdict.summary()})")
        evidence = tuple(verdict.explanation())
    certain = resolved.assumption is not None and not inventory.pod_sources(inventory.ref(resolved.service).namespace)
    outcome, fix, severity = Outcome.NOT_CHECKABLE, (), Severity.ERROR
    if pair.expect_allow and certain:
        outcome, severity = Outcome.FAILED, Severity.WARNING
    elif not pair.expect_allow and decided is not None:
        backend, verdict = decided
        outcome = Outcome.FAILED if verdict.allowed else Outcome.PASSED
        fix = _keep_out_fix(pair, backend, verdict) if verdict.allowed else ()
        locations += _policy_locations(inventory, verdict, backend.pod.namespace, resolved.caller.namespace)
    return PairVerdict(outcome, message, False, evidence, fix, locations, decided, verdicts, True, severity)


def _policy_locations(inventory: Inventory, verdict: PolicyVerdict, target_namespace: str, caller_namespace: str
                      ) -> tuple[Location, ...]:
    """Where the rules are of the policies that decided (a denial: those that deny, not those admitting)."""
    found: list[Location] = []
    for direction, namespace, key in ((verdict.ingress, target_namespace, "ingress"),
                                      (verdict.egress, caller_namespace, "egress"),
                                      (verdict.dns, caller_namespace, "egress")):
        if direction is None or direction.deciding_policy is None or (not verdict.allowed and direction.allowed):
            continue
        for policy in inventory.find("NetworkPolicy", direction.deciding_policy, namespace):
            found += known(inventory.location(policy, "spec", key))
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class PairResult:
    """The combined verdict of one pair: static explains, live decides."""

    outcome: Outcome
    severity: Severity  # a warning: the expectation holds, but something is wrong (e.g. policy not enforced)
    message: str
    fix: tuple[str, ...] = ()


def _passed(message: str) -> PairResult:
    return PairResult(Outcome.PASSED, Severity.ERROR, message)


def _failed(message: str, fix: tuple[str, ...] = ()) -> PairResult:
    return PairResult(Outcome.FAILED, Severity.ERROR, message, fix)


def _combine_allowed(pair: Pair, verdict: PolicyVerdict | None, connected: bool, live: str, why: str) -> PairResult:
    """A pair declared allowed: did it connect, and if not, is it a policy problem (traffic the policies deny
    but that passed is handled before)."""
    if connected:
        return _passed(f"{pair.caller} reached {pair.target} ({live}); {why}")
    if verdict is not None and not verdict.allowed:
        return _failed(f"{pair.caller} cannot reach {pair.target}: {why} (live: {live})", tuple(verdict.fixes()))
    return _failed(f"{pair.caller} cannot reach {pair.target}, and it is not a policy problem ({why}): live {live}")


def combine(pair: Pair, verdict: PolicyVerdict | None, connected: bool, live: str) -> PairResult:
    """Live is the ground truth; the static verdict says why (see README, 'Connectivity')."""
    static_allows = verdict is None or verdict.allowed
    why = verdict.summary() if verdict is not None else "no static verdict"
    if connected and not static_allows:
        message = (f"policy says deny but traffic passed: the network plugin is not enforcing NetworkPolicy "
                   f"({why})")
        return PairResult(Outcome.FAILED, Severity.WARNING if pair.expect_allow else Severity.ERROR, message)
    if pair.expect_allow:
        return _combine_allowed(pair, verdict, connected, live, why)
    if not connected and not static_allows:
        return _passed(f"{pair.caller} is kept from {pair.target} as declared: {why} (live: {live})")
    if not connected:
        return _passed(f"{pair.caller} cannot reach {pair.target} as declared, but no NetworkPolicy denies it "
                       f"(live: {live}); it may start working any time")
    admitted = verdict.ingress.admitted_by if verdict is not None else None
    fix = (f"remove the peer admitting {pair.caller} from {admitted.split(' ')[0]}",) if admitted else (
        f"add a NetworkPolicy selecting the pods of {pair.target.service} that does not admit {pair.caller}",)
    return _failed(f"{pair.caller} must not reach {pair.target} but did ({live}); {why}", fix)
