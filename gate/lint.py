"""`deploy-gate lint`: the incident's class of bugs, from manifests alone.

Each rule takes the inventory (and the config) and returns findings; none
touches a cluster. Objects a rule cannot judge from the set (a Service whose
workload lives elsewhere) are not checkable, never failures.
"""

from __future__ import annotations

from collections.abc import Callable

from gate.config import GateConfig, Pair
from gate.endpoints import (
    closest_gap,
    json_pointer,
    kubectl_patch,
    port_gaps,
    service_selector,
    template_candidates,
)
from gate.findings import Finding, Location, Outcome, Severity
from gate.inventory import Inventory
from gate.kinds import SELECTOR_KINDS, api_group
from gate.labels import Selector, format_labels, near_miss
from gate.netpol import Verdict as NetpolVerdict
from gate.objects import Object, ObjectRef, dig, pod_template, template_labels, template_path
from gate.pairs import Unresolvable, deciding, resolve, static_verdicts
from gate.references import Reference, references

PHASE = "lint"


def _finding(rule: str, subject: ObjectRef, title: str, outcome: Outcome, message: str, **kwargs: object) -> Finding:
    return Finding(PHASE, rule, subject, title, outcome, message, **kwargs)  # type: ignore[arg-type]


def check_service_selectors(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """Every Service selector matches a pod template in the set; else the evident workload's gap.

    An error needs certainty: a workload the selector was evidently meant for (see `closest_gap`)
    and no custom resource in the namespace that might create the pods instead.
    """
    findings = []
    for service in inventory.of_kind("Service"):
        ref = inventory.ref(service)
        selector = service_selector(service)
        if selector is None:
            continue
        title = f"{ref.name} selects pods"
        workloads = inventory.workloads(ref.namespace)
        selector_at = inventory.location(service, "spec", "selector")
        at = Location.parse(selector_at)
        matched = inventory.selected(selector, ref.namespace)
        if matched:
            names = ", ".join(str(inventory.ref(w)) for w in matched)
            findings.append(_finding("service-selector", ref, title, Outcome.PASSED,
                                     f"{ref} selects {selector}: {names}", locations=at))
            continue
        assert ref.namespace is not None
        candidates = template_candidates(((w, inventory.template_labels_location(w)) for w in workloads),
                                         ref.namespace)
        gap = closest_gap(ref, selector, candidates, selector_at)
        sources = inventory.pod_sources(ref.namespace)
        if sources:
            near = f"; closest template: {gap.pods_gap}" if gap else ""
            findings.append(_finding(
                "service-selector", ref, title, Outcome.NOT_CHECKABLE,
                f"{ref} selects {selector}; no pod template in the set matches, but pods may come from "
                f"{_names(sources)}{near}", locations=at))
            continue
        if gap is None:
            findings.append(_finding(
                "service-selector", ref, title, Outcome.NOT_CHECKABLE,
                f"{ref} selects {selector}; no workload in the set was evidently meant for it "
                f"(its pods are deployed from elsewhere?)", locations=at))
            continue
        evidence = []
        if gap.candidate.labels_location:
            evidence.append(f"pod template labels ({format_labels(gap.candidate.labels)}) at "
                            f"{gap.candidate.labels_location}")
        evidence.append(f"why {gap.candidate.workload}: {gap.because}")
        findings.append(_finding(
            "service-selector", ref, title, Outcome.FAILED,
            gap.message + "; the Service will have no endpoints", evidence=tuple(evidence), fix=tuple(gap.fix()),
            locations=at + Location.parse(gap.candidate.labels_location)))
    return findings


def _names(refs: list[ObjectRef], most: int = 3) -> str:
    shown = ", ".join(str(r) for r in refs[:most])
    return shown + (f" and {len(refs) - most} more" if len(refs) > most else "")


def check_target_ports(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """The Service's targetPort (number, or name + protocol) is declared by the templates it selects."""
    findings = []
    for service in inventory.of_kind("Service"):
        ref = inventory.ref(service)
        selector = service_selector(service)
        if selector is None:
            continue
        for workload in inventory.selected(selector, ref.namespace):
            workload_ref = inventory.ref(workload)
            title = f"{ref.name} targetPort exposed by {workload_ref}"
            gaps = port_gaps(service, pod_template(workload) or {})
            ports_at = Location.parse(inventory.location(service, "spec", "ports"))
            if not gaps:
                findings.append(_finding("target-port", ref, title, Outcome.PASSED,
                                         f"{workload_ref} exposes every targetPort of {ref}", locations=ports_at))
            for gap in gaps:
                severity = Severity.ERROR if gap.named else Severity.WARNING
                containers_at = inventory.location(workload, *_containers_path(workload))
                findings.append(_finding(
                    "target-port", ref, title, Outcome.FAILED, f"{ref}: {gap.message} of {workload_ref}",
                    severity=severity, fix=(gap.fix(workload_ref) + (f" ({containers_at})" if containers_at else ""),),
                    locations=ports_at + Location.parse(containers_at)))
    return findings


def _containers_path(workload: Object) -> tuple[str, ...]:
    return (*(template_path(workload) or ()), "spec", "containers")


def check_workload_selectors(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """A workload's spec.selector matches its own template labels (the API server rejects it otherwise)."""
    findings = []
    for workload in inventory.of_kind(*sorted(SELECTOR_KINDS)):
        ref = inventory.ref(workload)
        title = f"{ref.name} selector matches its template"
        raw = dig(workload, "spec", "selector")
        at = Location.parse(inventory.location(workload, "spec", "selector"))
        if not isinstance(raw, dict) or not (raw.get("matchLabels") or raw.get("matchExpressions")):
            findings.append(_finding("workload-selector", ref, title, Outcome.FAILED,
                                     f"{ref} has no spec.selector; apps/v1 requires one matching the template labels",
                                     locations=at or Location.parse(inventory.location(workload, "spec"))))
            continue
        selector = Selector.from_label_selector(raw)
        labels = template_labels(workload)
        unmet = selector.unmet(labels)
        if not unmet:
            findings.append(_finding("workload-selector", ref, title, Outcome.PASSED,
                                     f"{ref} selects its own pods ({selector})", locations=at))
            continue
        gaps = ", ".join(str(r) for r in unmet)
        findings.append(_finding(
            "workload-selector", ref, title, Outcome.FAILED,
            f"{ref}: spec.selector {selector} does not match its template labels ({format_labels(labels)}): "
            f"unmet {gaps}; the API server will reject it (`selector` does not match template `labels`)",
            fix=(f"make spec.selector a subset of the template labels, e.g. add {gaps} to the template labels",),
            locations=at + Location.parse(inventory.template_labels_location(workload))))
    return findings


def check_required_labels(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """Label conventions (required_labels in gate.yaml) on every pod template."""
    if not config.required_labels:
        return []
    findings = []
    for workload in inventory.workloads():
        ref = inventory.ref(workload)
        missing = [key for key in config.required_labels if key not in template_labels(workload)]
        title = f"{ref.name} has the required labels"
        at = Location.parse(inventory.template_labels_location(workload))
        if not missing:
            findings.append(_finding("required-labels", ref, title, Outcome.PASSED,
                                     f"{ref} carries {', '.join(config.required_labels)}", locations=at))
            continue
        findings.append(_finding(
            "required-labels", ref, title, Outcome.FAILED,
            f"pod template of {ref} lacks required label{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(required_labels in {config.file})", fix=(f"add {', '.join(missing)} to the pod template labels",),
            locations=at))
    return findings


def check_policy_selectors(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """A NetworkPolicy whose podSelector selects no template in its namespace protects nothing (warning)."""
    findings = []
    for obj, policy in zip(inventory.of_kind("NetworkPolicy"), inventory.policies(), strict=True):
        ref = inventory.ref(obj)
        title = f"{ref.name} selects pods"
        workloads = inventory.workloads(policy.namespace)
        at = Location.parse(inventory.location(obj, "spec", "podSelector"))
        if not workloads:
            findings.append(_finding("policy-selector", ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: no workload of namespace {policy.namespace} is in the set",
                                     locations=at))
            continue
        selected = [str(inventory.ref(w)) for w in inventory.selected(policy.pod_selector, policy.namespace)]
        if selected:
            findings.append(_finding("policy-selector", ref, title, Outcome.PASSED,
                                     f"{ref} selects {', '.join(selected)}", locations=at))
            continue
        if sources := inventory.pod_sources(policy.namespace):
            findings.append(_finding("policy-selector", ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: podSelector {policy.pod_selector} selects no pod template in the set; "
                                     f"pods may come from {_names(sources)}", locations=at))
            continue
        findings.append(_finding(
            "policy-selector", ref, title, Outcome.FAILED,
            f"{ref}: podSelector {policy.pod_selector} selects no pod template in namespace {policy.namespace}; "
            f"the policy protects nothing", severity=Severity.WARNING, locations=at))
    return findings


def pair_finding(pair: Pair, inventory: Inventory, phase: str = PHASE) -> Finding:
    """The static verdict of one declared pair against its expectation."""
    subject = ObjectRef("Pair", None, pair.name)
    locations = Location.parse(pair.location)
    try:
        resolved = resolve(pair, inventory)
    except Unresolvable as why:
        return Finding(phase, "caller-pair", subject, pair.name, Outcome.NOT_CHECKABLE, f"{pair.name}: {why}",
                       locations=locations)
    if not resolved.backends:
        return Finding(phase, "caller-pair", subject, pair.name, Outcome.NOT_CHECKABLE,
                       f"{pair.name}: not judged: {resolved.no_backends}", locations=locations)
    decided = deciding(static_verdicts(resolved, inventory), pair.expect_allow)
    assert decided is not None  # one verdict per backend, and there are backends
    backend, verdict = decided
    locations += _policy_locations(inventory, verdict, backend.endpoint.namespace, resolved.caller.namespace)
    to = f"{backend.endpoint.name} port {backend.port}/{backend.protocol}"
    evidence = tuple(verdict.explanation()) + ((resolved.assumption,) if resolved.assumption else ())
    if verdict.allowed == pair.expect_allow:
        said = "allowed" if pair.expect_allow else "denied"
        return Finding(phase, "caller-pair", subject, pair.name, Outcome.PASSED,
                       f"{pair.name}: {said} as expected ({verdict.summary()})",
                       evidence=evidence, locations=locations)
    if pair.expect_allow:
        message = f"{pair.caller} cannot reach {to}: {verdict.summary()}"
        fix = tuple(verdict.fixes())
    else:
        message = f"{pair.caller} must not reach {to}, but policies allow it: {verdict.summary()}"
        fix = (f"remove the peer admitting {pair.caller} from {verdict.ingress.admitted_by.split(' ')[0]}"
               if verdict.ingress.admitted_by else
               f"add a NetworkPolicy selecting {backend.endpoint.name} whose ingress rules do not admit "
               f"{pair.caller}",)
    return Finding(phase, "caller-pair", subject, pair.name, Outcome.FAILED, message,
                   evidence=evidence, fix=fix, locations=locations)


def _policy_locations(inventory: Inventory, verdict: NetpolVerdict, target_namespace: str, caller_namespace: str
                      ) -> tuple[Location, ...]:
    """file:line of the rules of the policies that decided, after the pair's own line in gate.yaml."""
    found: list[Location] = []
    for direction, namespace, key in ((verdict.ingress, target_namespace, "ingress"),
                                      (verdict.egress, caller_namespace, "egress")):
        if direction.deciding_policy is None or (not verdict.allowed and direction.allowed):
            continue  # a denial is located at the policies that deny, not at those admitting the other side
        for policy in inventory.find("NetworkPolicy", direction.deciding_policy, namespace):
            found += Location.parse(inventory.location(policy, "spec", key))
    return tuple(found)


def check_pairs(inventory: Inventory, config: GateConfig) -> list[Finding]:
    return [pair_finding(pair, inventory) for pair in config.pairs]


def check_duplicates(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """An object defined twice: `kubectl apply` keeps the last one, silently."""
    findings = []
    for ref, manifests in inventory.duplicates.items():
        places = ", ".join(f"{m.file}:{m.line}" for m in manifests)
        findings.append(_finding(
            "duplicate-object", ref, f"{ref.name} is defined once", Outcome.FAILED,
            f"{ref.qualified} is defined {len(manifests)} times ({places}); kubectl apply keeps only the last",
            locations=tuple(Location(m.file, m.line) for m in manifests)))
    return findings


def check_references(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """Names an object gives others (backends, ConfigMaps, Secrets, scale targets) exist, with their ports.

    A name missing from the set may exist in the cluster: not checkable, unless the set holds an object
    of that kind whose name is a near miss (a typo), or the named Service lacks the named port.
    """
    findings = []
    for obj in inventory.objects:
        ref = inventory.ref(obj)
        if ref.namespace is None:
            continue
        title = f"{ref.name} references exist"
        failed, unknown, found = [], [], []
        for reference in references(obj, ref.namespace):
            if reference.optional:
                continue
            at = inventory.location(obj, *reference.path)
            targets = inventory.find(reference.kind, reference.name, reference.namespace)
            if targets:
                problem = _port_problem(reference, targets[0])
                if problem:
                    failed.append(_finding("dangling-reference", ref, title, Outcome.FAILED, f"{ref}: {problem}",
                                           fix=(f"name one of those ports at {at}",), locations=Location.parse(at)))
                else:
                    found.append(str(reference))
                continue
            known = [inventory.ref(o).name for o in inventory.of_kind(reference.kind)
                     if inventory.ref(o).namespace == reference.namespace]
            near = [name for name in known if near_miss(reference.name, name)]
            if near:
                failed.append(_finding(
                    "dangling-reference", ref, title, Outcome.FAILED,
                    f"{ref} names {reference}, which is not in the set (did you mean {near[0]}?)",
                    fix=(kubectl_patch(ref, [{"op": "replace", "path": json_pointer(reference.path),
                                              "value": near[0]}]),
                         f"or in the manifest at {at}: {near[0]}"),
                    locations=Location.parse(at)))
            else:
                unknown.append(str(reference))
        findings += failed
        if unknown:
            findings.append(_finding("dangling-reference", ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref} names {', '.join(unknown)}, not in the set: they must exist in the "
                                     f"cluster", locations=Location.parse(inventory.location(obj))))
        elif found and not failed:
            findings.append(_finding("dangling-reference", ref, title, Outcome.PASSED,
                                     f"{ref} names {', '.join(found)}: all in the set",
                                     locations=Location.parse(inventory.location(obj))))
    return findings


def _port_problem(reference: Reference, service: Object) -> str | None:
    """Why a Service backend's port does not exist on the Service, or None."""
    if reference.kind != "Service" or reference.port is None:
        return None
    ports = [p for p in dig(service, "spec", "ports") or [] if isinstance(p, dict)]
    if any(p.get("port") == reference.port or (p.get("name") and p.get("name") == reference.port) for p in ports):
        return None
    known = ", ".join(f"{p['name']}={p.get('port')}" if p.get("name") else str(p.get("port")) for p in ports)
    return f"routes to {reference}, which the Service does not have (its ports: {known or 'none'})"


def check_pod_selectors(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """PodDisruptionBudgets and PodMonitors select pod templates; ServiceMonitors select Services.

    Selecting nothing protects or scrapes nothing: a warning, not checkable when something in the
    namespace may create pods (or, for a ServiceMonitor, when the set holds no Service there).
    """
    findings = []
    for obj in inventory.objects:
        kind, group = obj.get("kind"), api_group(str(obj.get("apiVersion", "")))
        if (group, kind) not in SELECTING_KINDS:
            continue
        ref = inventory.ref(obj)
        selector = Selector.from_label_selector(dig(obj, "spec", "selector"))
        title = f"{ref.name} selects {'Services' if kind == 'ServiceMonitor' else 'pods'}"
        at = Location.parse(inventory.location(obj, "spec", "selector"))
        if kind == "ServiceMonitor":
            namespaces = _monitored_namespaces(obj, ref.namespace)
            candidates = [(o, {str(k): str(v) for k, v in (dig(o, "metadata", "labels") or {}).items()})
                          for o in inventory.of_kind("Service") if namespaces is None or
                          inventory.ref(o).namespace in namespaces]
            selected = [str(inventory.ref(o)) for o, labels in candidates if selector.matches(labels)]
            sources = [] if candidates else [ObjectRef("Service", ref.namespace, "*")]
        else:
            workloads = inventory.workloads(ref.namespace)
            selected = [str(inventory.ref(w)) for w in inventory.selected(selector, ref.namespace)]
            sources = inventory.pod_sources(ref.namespace) or ([] if workloads else [ObjectRef("Pod", ref.namespace,
                                                                                               "*")])
        if selected:
            findings.append(_finding("pod-selector", ref, title, Outcome.PASSED, f"{ref} selects {', '.join(selected)}",
                                     locations=at))
        elif sources:
            findings.append(_finding("pod-selector", ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: selector {selector} matches nothing in the set; what it selects may "
                                     f"come from elsewhere", locations=at))
        else:
            findings.append(_finding("pod-selector", ref, title, Outcome.FAILED,
                                     f"{ref}: selector {selector} matches nothing in namespace {ref.namespace}; "
                                     f"the {kind} has no effect", severity=Severity.WARNING, locations=at))
    return findings


SELECTING_KINDS = {("policy", "PodDisruptionBudget"), ("monitoring.coreos.com", "ServiceMonitor"),
                   ("monitoring.coreos.com", "PodMonitor")}


def _monitored_namespaces(monitor: Object, own: str | None) -> set[str | None] | None:
    """The namespaces a ServiceMonitor looks in (None: all)."""
    namespaces = dig(monitor, "spec", "namespaceSelector") or {}
    if namespaces.get("any"):
        return None
    return set(namespaces.get("matchNames") or []) or {own}


RULES: tuple[Callable[[Inventory, GateConfig], list[Finding]], ...] = (
    check_duplicates, check_service_selectors, check_target_ports, check_workload_selectors, check_policy_selectors,
    check_references, check_pod_selectors, check_required_labels, check_pairs,
)


def lint(inventory: Inventory, config: GateConfig) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(inventory, config)]
