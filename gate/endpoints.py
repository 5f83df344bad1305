"""Why a Service has no endpoints: pure diagnosis over plain objects.

Order of causes, as an on-call engineer checks them: the selector matches no
pod (which labels are missing, on which workload, and the patch); pods match
but none is Ready; pods are Ready but the targetPort is not theirs.
The same wording serves `lint` (pod templates) and `verify` (live pods).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from gate.labels import Requirement, Selector, describe_gap
from gate.objects import Object, ObjectRef, containers, dig, ref_of, template_labels, template_labels_path

# A JSON-patch path segment escapes '~' and '/' (RFC 6901), e.g. app.kubernetes.io/name.
_POINTER_ESCAPES = str.maketrans({"~": "~0", "/": "~1"})


@dataclass(frozen=True)
class Candidate:
    """Pods that might back a Service: a workload's template, or its live pods."""

    workload: ObjectRef
    labels: dict[str, str]
    labels_path: tuple[str, ...]  # where the template labels live in the workload
    labels_location: str | None = None  # file:line of those labels, when from a manifest
    running_pods: int | None = None  # live mode: how many pods the workload runs


@dataclass(frozen=True)
class SelectorGap:
    """The closest candidate to a selector that matches nothing, and what it lacks."""

    service: ObjectRef
    selector: Selector
    candidate: Candidate
    unmet: tuple[Requirement, ...]

    @property
    def pods_gap(self) -> str:
        """'pods of deployment/x (3 running) lack tier=backend'."""
        pods = f"pods of {self.candidate.workload}"
        if self.candidate.running_pods is not None:
            pods += f" ({self.candidate.running_pods} running)"
        return f"{pods} " + "; ".join(describe_gap(r, self.candidate.labels) for r in self.unmet)

    @property
    def message(self) -> str:
        return f"{self.service} selects {self.selector}; {self.pods_gap}"

    def fix(self) -> list[str]:
        """The kubectl patch and the YAML lines that make the template match."""
        workload = self.candidate.workload
        operations, yaml_lines = [], []
        for requirement in self.unmet:
            if requirement.operator != "In" or len(requirement.values) != 1:
                continue  # a set-based requirement has no single obvious value to add
            key, value = requirement.key, requirement.values[0]
            pointer = "/" + "/".join([*self.candidate.labels_path, key.translate(_POINTER_ESCAPES)])
            op = "replace" if key in self.candidate.labels else "add"
            operations.append({"op": op, "path": pointer, "value": value})
            yaml_lines.append(f"{key}: {value}")
        if not operations:
            return [f"make the pod template labels of {workload} satisfy {self.selector}, "
                    f"or change the selector of {self.service}"]
        namespace = f" -n {workload.namespace}" if workload.namespace else ""
        patch = json.dumps(operations, separators=(",", ":"))
        where = f" at {self.candidate.labels_location}" if self.candidate.labels_location else ""
        return [
            f"kubectl patch {workload.kind.lower()} {workload.name}{namespace} --type=json -p='{patch}'",
            f"or in the manifest{where}, under {'.'.join(self.candidate.labels_path)}: "
            + ", ".join(yaml_lines),
        ]


def endpoint_ready(endpoint: Object) -> bool:
    """An EndpointSlice endpoint serves traffic: conditions.ready unset counts as ready (discovery/v1)."""
    return (endpoint.get("conditions") or {}).get("ready") is not False


def service_selector(service: Object) -> Selector | None:
    """The Service's selector, or None for selector-less and ExternalName Services."""
    if dig(service, "spec", "type") == "ExternalName":
        return None
    selector = dig(service, "spec", "selector")
    return Selector.from_map(selector) if selector else None


def closest_gap(service: ObjectRef, selector: Selector, candidates: Iterable[Candidate]) -> SelectorGap | None:
    """The candidate meeting most requirements (at least one), preferring a name like the Service's.

    None when no candidate meets any requirement: then nothing in view was meant to back the Service.
    """
    best: tuple[tuple[int, int, int], Candidate, list[Requirement]] | None = None
    for candidate in candidates:
        unmet = selector.unmet(candidate.labels)
        met = len(selector.requirements) - len(unmet)
        if met == 0 or not unmet:
            continue
        rank = (met, int(candidate.workload.name == service.name), int(service.name in candidate.workload.name))
        if best is None or rank > best[0]:
            best = (rank, candidate, unmet)
    if best is None:
        return None
    return SelectorGap(service, selector, best[1], tuple(best[2]))


def _container_ports(pod_or_template: Object) -> list[Object]:
    return [port for container in containers(pod_or_template) for port in (container.get("ports") or [])
            if isinstance(port, dict)]


@dataclass(frozen=True)
class PortGap:
    """A Service port whose targetPort the backing pods do not expose."""

    service_port: str  # "8080/TCP" or the port's name
    target: str
    named: bool  # a named targetPort that no container defines gets no endpoints at all
    declared: tuple[str, ...]

    @property
    def message(self) -> str:
        exposed = ", ".join(self.declared) or "no ports"
        if self.named:
            return (f"targetPort {self.target!r} of port {self.service_port} names no container port "
                    f"(containers expose {exposed}); endpoints for that port stay empty")
        return (f"targetPort {self.target} of port {self.service_port} is not declared by any container "
                f"(containers expose {exposed}); traffic goes there only if something listens undeclared")


def port_gaps(service: Object, pod_or_template: Object) -> list[PortGap]:
    """Service ports whose targetPort (number or name + protocol) the pod does not expose."""
    declared = _container_ports(pod_or_template)
    declared_text = tuple(
        f"{p.get('name') + '=' if p.get('name') else ''}{p.get('containerPort')}/{p.get('protocol', 'TCP')}"
        for p in declared)
    gaps = []
    for port in dig(service, "spec", "ports") or []:
        protocol = port.get("protocol", "TCP")
        target = port.get("targetPort", port.get("port"))
        label = f"{port.get('name')} ({port.get('port')}/{protocol})" if port.get("name") else \
            f"{port.get('port')}/{protocol}"
        if isinstance(target, str) and not target.isdigit():
            if not any(p.get("name") == target and p.get("protocol", "TCP") == protocol for p in declared):
                gaps.append(PortGap(label, target, True, declared_text))
        elif not any(str(p.get("containerPort")) == str(target) and p.get("protocol", "TCP") == protocol
                     for p in declared):
            gaps.append(PortGap(label, str(target), False, declared_text))
    return gaps


def candidates_from_workloads(workloads: Iterable[tuple[Object, str | None]], namespace: str) -> list[Candidate]:
    """Candidates from workload objects (each with the file:line of its template labels, if known)."""
    found = []
    for workload, location in workloads:
        ref = ref_of(workload, namespace)
        if ref.namespace == namespace:
            found.append(Candidate(ref, template_labels(workload), template_labels_path(workload), location))
    return found

