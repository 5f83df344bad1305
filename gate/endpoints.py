"""Why a Service has no endpoints: pure diagnosis over plain objects.

Order of causes, as an on-call engineer checks them: the selector matches no
pod (which labels are missing, on which workload, and the patch); pods match
but none is Ready; pods are Ready but the targetPort is not theirs.
The same wording serves `lint` (pod templates) and `verify` (live pods).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gate.escape import shell_command
from gate.kinds import BUILTIN_KINDS, CONTROLLER_LABEL_KEYS, SELECTOR_KINDS, ControllerLabel
from gate.labels import (
    IDENTITY_LABELS,
    PodLabels,
    Requirement,
    Selector,
    describe_gap,
    near_label,
    no_command_for,
)
from gate.location import Location
from gate.objects import (
    FieldPath,
    Object,
    ObjectRef,
    container_ports,
    containers,
    controller_labels,
    dig,
    dotted,
    port_number,
    ref_of,
    template_labels,
    template_labels_path,
    template_path,
)

# A JSON-patch path segment escapes '~' and '/' (RFC 6901), e.g. app.kubernetes.io/name.
_POINTER = str.maketrans({"~": "~0", "/": "~1"})


@dataclass(frozen=True)
class Candidate:
    """Pods that might back a Service: a workload's template, or its live pods."""

    workload: ObjectRef
    labels: dict[str, str]
    labels_path: FieldPath  # where the template labels live in the workload
    labels_location: Location | None = None  # where those labels are written, when from a manifest
    running_pods: int | None = None  # live mode: how many pods the workload runs
    own_selector: Selector | None = None  # the workload's spec.selector: a relabel must keep matching it
    added: tuple[ControllerLabel, ...] = ()  # labels its controller adds (templates only)

    @property
    def pods(self) -> PodLabels:
        return PodLabels(self.labels, self.added, self.workload.name)


@dataclass(frozen=True)
class SelectorGap:
    """The workloads a selector was evidently meant for, what their pods lack, and the safe fix.

    `candidate` is the evidence (the workload named like the Service, or a near miss); `served` is every
    workload the selector evidently serves: those its corrected form selects (v1, v2 and the canary
    behind one Service), the candidate first. A fix keeps all of them behind the Service.
    """

    service: ObjectRef
    selector: Selector
    candidate: Candidate
    unmet: tuple[Requirement, ...]
    because: str  # the evidence that the candidate was meant: "same name as the Service", ...
    selector_location: Location | None = None  # where the Service's selector is written, when from a manifest
    served: tuple[Candidate, ...] = ()

    @property
    def typo(self) -> bool:
        """Every unmet requirement is one typo away from the candidate's labels (a near-miss template)."""
        return all(near_label(requirement, self.candidate.labels) for requirement in self.unmet)

    @property
    def pods_gap(self) -> str:
        """'pods of deployment/x (3 running) lack tier=backend', one clause per distinct gap."""
        by_gap: dict[str, list[Candidate]] = {}
        for candidate in self.served or (self.candidate,):
            by_gap.setdefault(self._gaps(candidate), []).append(candidate)
        return "; ".join("pods of " + ", ".join(_named(c) for c in candidates) + f" {gap}"
                         for gap, candidates in by_gap.items())

    def _gaps(self, candidate: Candidate) -> str:
        gaps = []
        for requirement in self.selector.unmet_by(candidate.pods):
            gap = describe_gap(requirement, candidate.labels)
            near = near_label(requirement, candidate.labels)
            if requirement.key in CONTROLLER_LABEL_KEYS and requirement.key not in candidate.labels:
                gap += f" (a controller adds {requirement.key}; {candidate.workload.kind}'s does not)"
            elif near:
                gap += f" (did you mean {near[0]}={near[1]}?)"
            gaps.append(gap)
        return "; ".join(gaps)

    @property
    def message(self) -> str:
        return f"{self.service} selects {self.selector}; {self.pods_gap}"

    def corrected(self) -> Selector:
        """The selector with each unmet requirement corrected to the candidate's label, or dropped.

        A typo'd key or value becomes the label it was one typo from; a value the candidate has otherwise
        becomes the candidate's; a label it lacks (or any other operator) goes. What this selects is what
        the Service evidently served: every workload matching the rest of the selector.
        """
        requirements = []
        for requirement in self.selector.requirements:
            if requirement not in self.unmet:
                requirements.append(requirement)
                continue
            near = near_label(requirement, self.candidate.labels)
            key = near[0] if near else requirement.key
            if requirement.operator == "In" and key in self.candidate.labels:
                requirements.append(Requirement(key, "In", (self.candidate.labels[key],)))
        return Selector(tuple(requirements))

    def _relabel(self, candidate: Candidate) -> dict[str, str] | None:
        """The labels to set on one template, or None when relabelling it is not a safe fix.

        Unsafe: a label a controller sets, a requirement with no single value, a value the template
        already has otherwise or a key one typo from one it has (then the Service is the likelier typo:
        relabelling would copy the typo into the pods and roll them out), or a change that makes the
        template stop matching its own workload's selector (the API server would reject it).
        """
        wanted = {}
        for requirement in self.selector.unmet_by(candidate.pods):
            if requirement.operator != "In" or len(requirement.values) != 1 or \
                    requirement.key in CONTROLLER_LABEL_KEYS or requirement.key in candidate.labels or \
                    near_label(requirement, candidate.labels):
                return None
            wanted[requirement.key] = requirement.values[0]
        own = candidate.own_selector
        if not wanted or (own is not None and not own.matches({**candidate.labels, **wanted})):
            return None
        return wanted

    def _relabels(self) -> list[tuple[Candidate, dict[str, str]]] | None:
        """The labels for every served template, or None unless each of them can safely take its own."""
        relabels = []
        for candidate in self.served or (self.candidate,):
            wanted = self._relabel(candidate)
            if wanted is None:
                return None
            relabels.append((candidate, wanted))
        return relabels

    @property
    def fix_location(self) -> Location | None:
        """Where the fix goes: the (first) template's labels, or the Service's selector."""
        return self.candidate.labels_location if self._relabels() else self.selector_location

    def fix(self) -> list[str]:
        """The kubectl patch and the YAML lines: relabel every served template when that is safe, else reselect.

        Relabelling only some of them (or reselecting to one) would pass lint while the others silently
        left the Service; the corrected selector selects them all by construction.
        """
        relabels = self._relabels()
        if relabels:
            return self._relabel_fix(relabels)
        reselect = self.corrected().as_map()
        if reselect:
            return self._reselect_fix(reselect)
        return [f"make the pod template labels of {self.candidate.workload} satisfy {self.selector}, "
                f"or change the selector of {self.service}"]

    def _relabel_fix(self, relabels: list[tuple[Candidate, dict[str, str]]]) -> list[str]:
        commands, edits, written = [], [], {}
        for candidate, labels in relabels:
            operations = [{"op": "add", "path": json_pointer((*candidate.labels_path, key)), "value": value}
                          for key, value in labels.items()]
            commands.append(kubectl_patch(candidate.workload, operations))
            where = f" at {candidate.labels_location}" if candidate.labels_location else \
                f" of {candidate.workload}" if len(relabels) > 1 else ""
            edits.append(f"in the manifest{where}, under {dotted(candidate.labels_path)}: " +
                         ", ".join(f"{key}: {value}" for key, value in labels.items()))
            written.update(labels)
        return _command_or_edit(" && ".join(commands), "; and ".join(edits), written)

    def _reselect_fix(self, selector: dict[str, str]) -> list[str]:
        where = f" at {self.selector_location}" if self.selector_location else ""
        pods = ", ".join(str(c.workload) for c in self.served or (self.candidate,))
        edit = f"in the manifest{where}, set spec.selector to " + \
            ", ".join(f"{key}: {value}" for key, value in selector.items()) + \
            f" (the labels {pods} {'carry' if len(self.served) > 1 else 'carries'})"
        return _command_or_edit(
            kubectl_patch(self.service, [{"op": "replace", "path": "/spec/selector", "value": selector}]), edit,
            selector)


def _named(candidate: Candidate) -> str:
    """'deployment/x', with how many pods it runs when live."""
    running = f" ({candidate.running_pods} running)" if candidate.running_pods is not None else ""
    return f"{candidate.workload}{running}"


def json_pointer(path: FieldPath) -> str:
    """RFC 6901: '/spec/template/metadata/labels/app.kubernetes.io~1name'."""
    return "/" + "/".join(str(step).translate(_POINTER) for step in path)


def kubectl_patch(ref: ObjectRef, operations: list[dict[str, object]]) -> str:
    """The one-line `kubectl patch --type=json` that applies operations to ref, every word shell-quoted."""
    namespace = ("-n", ref.namespace) if ref.namespace else ()
    patch = json.dumps(operations, separators=(",", ":"))
    return shell_command("kubectl", "patch", ref.kind.lower(), ref.name, *namespace, "--type=json", f"-p={patch}")


def _command_or_edit(command: str, edit: str, labels: dict[str, str]) -> list[str]:
    """The command and the manifest edit; neither where a label is one the API server would reject."""
    reason = no_command_for(labels)
    return [reason] if reason else [command, f"or {edit}"]


def ready_endpoints(endpoint_slice: Object) -> int:
    """How many endpoints of an EndpointSlice serve traffic: conditions.ready unset counts as ready (discovery/v1)."""
    return sum(1 for endpoint in endpoint_slice.get("endpoints") or []
               if (endpoint.get("conditions") or {}).get("ready") is not False)


def service_selector(service: Object) -> Selector | None:
    """The Service's selector, or None for selector-less and ExternalName Services."""
    if dig(service, "spec", "type") == "ExternalName":
        return None
    selector = dig(service, "spec", "selector")
    return Selector.from_map(selector) if selector else None


def closest_gap(service: ObjectRef, selector: Selector, candidates: Iterable[Candidate],
                selector_location: Location | None = None) -> SelectorGap | None:
    """The workloads the selector was evidently meant for, or None when the evidence is weak.

    Evidence: a workload has the Service's name; every unmet requirement is a near
    miss of its labels (a typo'd value or key); or only one label is missing and an identity label
    (app, name, ...) matches. Sharing a `part-of` label, or an app label with another value, is no
    evidence: pods may come from elsewhere, and a relabel would send the Service's traffic to the
    wrong app. Among candidates, the one meeting most of the selector wins, then the one named like the
    Service; the gap then serves every workload the corrected selector selects (see `corrected`).
    """
    candidates = list(candidates)
    best: tuple[tuple[int, int], SelectorGap] | None = None
    for candidate in candidates:
        unmet = selector.unmet_by(candidate.pods)
        if not unmet:
            continue
        met = [r for r in selector.requirements if r not in unmet]
        near = [near_label(r, candidate.labels) for r in unmet]
        if candidate.workload.name == service.name:
            because = "same name as the Service"
        elif all(near):
            because = "a near-miss key" if any(n and n[0] != r.key for n, r in zip(near, unmet, strict=True)) \
                else "a near-miss value"
        elif len(unmet) == 1 and unmet[0].key not in candidate.labels and any(r.key in IDENTITY_LABELS for r in met):
            because = "all but one label match"
        else:
            continue
        # The selector's own labels outweigh the Service's name: `api-v2` selecting version=v1 serves v1.
        rank = (len(met), int(candidate.workload.name == service.name))
        gap = SelectorGap(service, selector, candidate, tuple(unmet), because, selector_location)
        if best is None or rank > best[0]:
            best = (rank, gap)
    if best is None:
        return None
    gap = best[1]
    corrected = gap.corrected()
    others = [c for c in candidates if c is not gap.candidate and not corrected.is_empty and
              corrected.may_match(c.pods)]
    return replace(gap, served=(gap.candidate, *others))


def _defaulted(service_port: Object) -> bool:
    """targetPort absent, 0 or '': the API server sets it to the port (SetDefaults_Service)."""
    target = service_port.get("targetPort")
    return target in (None, "") or port_number(target) == 0


def target_port(service_port: Object) -> int | str:
    """The pod port a Service port sends to: its targetPort, or the port itself when that is defaulted."""
    return service_port.get("port", 0) if _defaulted(service_port) else service_port["targetPort"]


@dataclass(frozen=True)
class PortGap:
    """A Service port whose targetPort the backing pods do not declare, graded by the evidence.

    A named targetPort that no container defines gets no endpoints: an error. A number always gets
    endpoints (containerPort is informational), so an undeclared one is a fault only when the template
    says where the app does listen: it declares ports of that protocol, nothing else in it names the
    number, and the number is the Service port or a near miss of a declared port (`likely_wrong`).
    Otherwise it is a note: only live traffic can say whether the app listens there.
    """

    index: int  # the port's position in spec.ports (the patch path)
    service_port: str  # "8080/TCP" or "name (8080/TCP)"
    target: str
    named: bool  # a named targetPort that no container defines gets no endpoints at all
    declared: tuple[str, ...]
    other_protocol: str | None = None  # a port of that name exists, but for this protocol
    written: bool = True  # targetPort is in the manifest (else the Service port stands for it)
    protocol: str = "TCP"
    named_by: str | None = None  # who else names the number: "env PORT of container app names it", ...
    meant: tuple[Object, ...] = ()  # the declared ports it was evidently meant to be (likely_wrong)
    near: bool = False  # meant because a near miss, not because the targetPort is the Service port

    @property
    def likely_wrong(self) -> bool:
        return bool(self.meant)

    def message(self, owner: str) -> str:
        """The one line about owner's pods (a workload, or a live pod)."""
        exposed = ", ".join(self.declared) or "no ports"
        if self.other_protocol:
            return (f"targetPort {self.target!r} of port {self.service_port} names a container port of {owner} "
                    f"whose protocol is {self.other_protocol}, not the Service port's; endpoints for that port "
                    "stay empty")
        if self.named:
            return (f"targetPort {self.target!r} of port {self.service_port} names no container port of {owner} "
                    f"(it declares {exposed}); endpoints for that port stay empty")
        target = f"targetPort {self.target}" + ("" if self.written else " (by default: the Service port)")
        if self.likely_wrong:
            meant = ", ".join(_port_text(p) for p in self.meant)
            why = f"a near miss of {self.target}" if self.near else f"not the Service port {self.target}"
            return (f"{target} of port {self.service_port} is likely wrong: {owner} declares {meant}, {why}, and "
                    f"nothing else in its pod template names {self.target}; its pods are likely not listening on "
                    f"{self.target}")
        if self.named_by:
            why = self.named_by
        elif not any(text.endswith(f"/{self.protocol}") for text in self.declared):
            why = f"it declares no {self.protocol} port"
        else:
            why = f"it declares {exposed}; nothing else in its pod template names {self.target}"
        return (f"{target} of port {self.service_port} is undeclared by {owner} ({why}); only live traffic can "
                "say whether the app listens there")

    def fix(self, workload: ObjectRef, service: ObjectRef, ports_location: Location | None = None) -> list[str]:
        if self.other_protocol:
            return [f"make the protocol of port {self.service_port} {self.other_protocol}, or declare "
                    f"{self.target!r} for the Service port's protocol on a container of {workload}"]
        if self.named:
            return [f"add a port named {self.target!r} to a container of {workload}, or set targetPort to a number"]
        if len(self.meant) > 1:
            return [f"set targetPort of port {self.service_port} to the port {workload} listens on: one of "
                    + ", ".join(_port_text(p) for p in self.meant)]
        if not self.meant:
            return []
        value = self.meant[0].get("name") or self.meant[0].get("containerPort")
        path = ("spec", "ports", self.index, "targetPort")
        command = kubectl_patch(service, [{"op": "replace" if self.written else "add", "path": json_pointer(path),
                                           "value": value}])
        where = f" at {ports_location}" if ports_location else ""
        return [command, f"or in the manifest{where}, set targetPort: {value} on port {self.service_port}"]


def _port_text(port: Object) -> str:
    """'grpc=50051/TCP', or '8080/TCP' for an unnamed port."""
    name = f"{port.get('name')}=" if port.get("name") else ""
    return f"{name}{port.get('containerPort')}/{port.get('protocol', 'TCP')}"


def _near_port(written: int, declared: int) -> bool:
    """A likely typo of a port number: one apart, or one digit changed, added, dropped or two adjacent swapped."""
    a, b = str(written), str(declared)
    if abs(written - declared) == 1:
        return True
    if min(len(a), len(b)) < 2 or abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) != len(b):
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1 and
                                a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])


def _naming(container: Object, number: int) -> str | None:
    """Where a container names the port number besides its ports: an env value, its args or command, a probe.

    Only the env variable's name is given, never its value (a URL there may hold a password).
    """
    mention = re.compile(rf"(?<![0-9]){number}(?![0-9])")
    where = f"container {container.get('name')}"
    for env in container.get("env") or []:
        if isinstance(env, dict) and mention.search(str(env.get("value") or "")):
            return f"env {env.get('name')} of {where} names it"
    for field, verb in (("args", "name"), ("command", "names")):
        words = container.get(field)
        if isinstance(words, list) and any(mention.search(str(word)) for word in words):
            return f"the {field} of {where} {verb} it"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if any(port_number(dig(container, probe, handler, "port")) == number
               for handler in ("httpGet", "tcpSocket", "grpc")):
            return f"the {probe} of {where} names it"
    return None


def _named_elsewhere(number: int, protocol: str, pod_or_template: Object,
                     siblings: Iterable[tuple[str, Object]]) -> str | None:
    """Who else names the number: a container of the pod (env, args, probe, a port of another protocol), or a
    sibling (another workload the Service selects) that declares it."""
    for container in containers(pod_or_template):
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port_number(port.get("containerPort")) == number:
                return f"container {container.get('name')} declares it for {port.get('protocol', 'TCP')}"
        found = _naming(container, number)
        if found:
            return found
    for name, template in siblings:
        if any(port_number(p.get("containerPort")) == number and p.get("protocol", "TCP") == protocol
               for p in container_ports(template)):
            return f"{name}, which the Service also selects, declares it"
    return None


def port_gap(service: Object, index: int, pod_or_template: Object,
             siblings: Iterable[tuple[str, Object]] = ()) -> PortGap | None:
    """The gap of the Service's port at index on this pod (template), graded; None when the pod declares it.

    siblings: the other workloads the Service selects (name, pod template): a number one of them
    declares is evidently meant, so it is no evidence of a mistake here.
    """
    ports = dig(service, "spec", "ports") or []
    port = ports[index]
    declared = container_ports(pod_or_template)
    declared_text = tuple(_port_text(p) for p in declared)
    protocol = port.get("protocol", "TCP")
    target = target_port(port)
    label = f"{port.get('name')} ({port.get('port')}/{protocol})" if port.get("name") else \
        f"{port.get('port')}/{protocol}"
    number = port_number(target)
    if number is None:
        same_name = [p for p in declared if p.get("name") == target]
        if any(p.get("protocol", "TCP") == protocol for p in same_name):
            return None
        other = str(same_name[0].get("protocol", "TCP")) if same_name else None
        return PortGap(index, label, str(target), True, declared_text, other, protocol=protocol)
    if any(port_number(p.get("containerPort")) == number and p.get("protocol", "TCP") == protocol for p in declared):
        return None
    named_by = _named_elsewhere(number, protocol, pod_or_template, siblings)
    meant: tuple[Object, ...] = ()
    near = False
    if named_by is None:
        # A port another Service port already sends to is not free to take this one's traffic.
        targeted = {target_port(other) for i, other in enumerate(ports) if i != index}
        free = [p for p in declared if p.get("protocol", "TCP") == protocol and
                port_number(p.get("containerPort")) not in targeted and p.get("name") not in targeted]
        near_misses = tuple(p for p in free if _near_port(number, port_number(p.get("containerPort")) or 0))
        if near_misses:
            meant, near = near_misses, True
        elif number == port.get("port"):
            meant = tuple(free)
    return PortGap(index, label, str(number), False, declared_text, written=not _defaulted(port), protocol=protocol,
                   named_by=named_by, meant=meant, near=near)


def port_gaps(service: Object, pod_or_template: Object, siblings: Iterable[tuple[str, Object]] = ()) -> list[PortGap]:
    """Service ports whose targetPort (number or name + protocol) the pod does not declare."""
    return [gap for index in range(len(dig(service, "spec", "ports") or []))
            if (gap := port_gap(service, index, pod_or_template, siblings)) is not None]


def template_candidates(workloads: Iterable[tuple[Object, Location | None]], namespace: str) -> list[Candidate]:
    """Candidates from workload objects (each with where its template labels are written, if known)."""
    found = []
    for workload, location in workloads:
        ref = ref_of(workload, namespace)
        if ref.namespace == namespace:
            found.append(Candidate(ref, template_labels(workload), template_labels_path(workload), location,
                                   own_selector=own_selector(workload), added=controller_labels(workload)))
    return found


def own_selector(workload: Object) -> Selector | None:
    """A workload's spec.selector, which its template must keep matching (custom workloads too).

    A Job's selector is generated from its controller-uid, a Pod has none: a relabel cannot break them.
    """
    selector = dig(workload, "spec", "selector")
    if not isinstance(selector, dict) or template_path(workload) is None:
        return None
    kind = str(workload.get("kind", ""))
    return Selector.from_label_selector(selector) if kind in SELECTOR_KINDS or kind not in BUILTIN_KINDS else None
