"""A pure networking.k8s.io/v1 NetworkPolicy evaluator that explains its verdict.

Semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
- a pod is isolated for a direction only when some policy selecting it lists that
  direction in policyTypes (default: Ingress always, Egress when egress rules exist);
  a direction nobody isolates allows everything;
- a connection needs the caller's egress AND the target's ingress to allow it;
- rules are unions: one matching rule of one policy admits; a rule matches when
  one of its peers matches (no peers: everyone) and one of its ports matches (no
  ports: every port); a policy with the type but no rules admits nothing;
- podSelector alone means the policy's namespace; namespaceSelector alone means
  every pod of matching namespaces; both in one peer means AND;
- named ports resolve against the destination pod's container ports.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from gate.escape import shell_command
from gate.labels import IDENTITY_LABELS, Selector, format_labels, no_command_for
from gate.objects import Object, dig, port_number

INGRESS, EGRESS = "Ingress", "Egress"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class PodSide:
    """One side of a connection: a pod (or the pods of a template) and where it lives."""

    namespace: str
    labels: dict[str, str]
    display: str = ""  # e.g. deployment/api-gateway
    ip: str | None = None  # known in live mode; ipBlock peers need it
    ports: tuple[ContainerPort, ...] = ()

    @property
    def name(self) -> str:
        return self.display or f"pods {format_labels(self.labels)} in namespace {self.namespace}"


@dataclass(frozen=True)
class Connection:
    source: PodSide
    destination: PodSide
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Policy:
    """A NetworkPolicy reduced to what evaluation needs, keeping the original for patches."""

    name: str
    namespace: str
    pod_selector: Selector
    types: frozenset[str]
    ingress: tuple[Object, ...] | None  # None: no rules at all
    egress: tuple[Object, ...] | None

    @classmethod
    def from_object(cls, obj: Object, default_namespace: str = "default") -> Policy:
        spec = obj.get("spec") or {}
        types = spec.get("policyTypes")
        if not types:  # the API server's defaulting
            types = [INGRESS] + ([EGRESS] if spec.get("egress") else [])
        ingress, egress = spec.get("ingress"), spec.get("egress")
        return cls(
            name=dig(obj, "metadata", "name") or "",
            namespace=dig(obj, "metadata", "namespace") or default_namespace,
            pod_selector=Selector.from_label_selector(spec.get("podSelector")),
            types=frozenset(types),
            ingress=tuple(r or {} for r in ingress) if ingress is not None else None,
            egress=tuple(r or {} for r in egress) if egress is not None else None,
        )

    def rules(self, direction: str) -> tuple[Object, ...]:
        return (self.ingress if direction == INGRESS else self.egress) or ()

    def selects(self, pod: PodSide) -> bool:
        return pod.namespace == self.namespace and self.pod_selector.matches(pod.labels)


@dataclass(frozen=True)
class DirectionVerdict:
    """One direction's answer: who isolates, what admits, and why not."""

    direction: str
    allowed: bool
    isolated_by: tuple[str, ...] = ()
    admitted_by: str | None = None
    reasons: tuple[str, ...] = ()  # for a deny: why each isolating policy admits nothing
    patch: str | None = None  # the smallest kubectl patch that would admit the connection
    deciding_policy: str | None = None  # the policy that decided (admitted, or the one the fix changes)

    def summary(self) -> str:
        if not self.isolated_by:
            side = "target" if self.direction == INGRESS else "caller"
            return f"{self.direction.lower()}: no NetworkPolicy isolates the {side}"
        if self.allowed:
            return f"{self.direction.lower()}: admitted by {self.admitted_by}"
        return f"{self.direction.lower()}: denied; " + "; ".join(self.reasons)


@dataclass(frozen=True)
class PolicyVerdict:
    allowed: bool
    ingress: DirectionVerdict
    egress: DirectionVerdict
    dns: DirectionVerdict | None = None  # UDP 53 to the cluster DNS, set when the caller is egress-isolated
    incomplete: str | None = None  # e.g. the cluster also has policy kinds this evaluator cannot read
    notes: tuple[str, ...] = field(default=())

    @property
    def deciding(self) -> list[DirectionVerdict]:
        """The verdicts that deny: the caller's egress, the target's ingress, the caller's DNS lookup."""
        return [d for d in (self.egress, self.ingress, self.dns) if d is not None and not d.allowed]

    def _summary_of(self, direction: DirectionVerdict) -> str:
        return ("DNS " if direction is self.dns else "") + direction.summary()

    def summary(self) -> str:
        if self.allowed:
            admitted = [d.summary() for d in (self.egress, self.ingress)]
            return "allowed: " + "; ".join(admitted)
        return "blocked: " + " and ".join(self._summary_of(d) for d in self.deciding)

    def explanation(self) -> list[str]:
        lines = [self.ingress.summary(), self.egress.summary()]
        if self.dns is not None:
            lines.append(self._summary_of(self.dns))
        lines += list(self.notes)
        if self.incomplete:
            lines.append(f"possibly incomplete: {self.incomplete}")
        return lines

    def fixes(self) -> list[str]:
        return [d.patch for d in self.deciding if d.patch]


def _namespace_labels(namespace: str, namespaces: dict[str, dict[str, str]]) -> dict[str, str]:
    # The API server labels every namespace with its name (since 1.21).
    return {**namespaces.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}


def _ip_in_block(ip: str, block: Object) -> bool:
    """Whether ip is in the block's cidr and in none of its exceptions (a malformed CIDR matches nothing)."""
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(str(block.get("cidr")), strict=False):
            return False
        return not any(address in ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or [])
    except ValueError:
        return False


def _peer_matches(peer: Object, policy: Policy, other: PodSide, namespaces: dict[str, dict[str, str]]) -> bool:
    if "ipBlock" in peer:
        return other.ip is not None and _ip_in_block(other.ip, peer["ipBlock"] or {})
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    if namespace_selector is None:
        namespace_ok = other.namespace == policy.namespace
    else:
        namespace_ok = Selector.from_label_selector(namespace_selector).matches(
            _namespace_labels(other.namespace, namespaces))
    pod_ok = pod_selector is None or Selector.from_label_selector(pod_selector).matches(other.labels)
    return namespace_ok and pod_ok


def _port_matches(entry: Object, connection: Connection) -> bool:
    if str(entry.get("protocol", "TCP")) != connection.protocol:
        return False
    port = entry.get("port")
    if port is None:
        return True
    number = port_number(port)
    if number is None:  # a port name, resolved on the destination pod
        return any(p.name == port and p.protocol == connection.protocol and p.port == connection.port
                   for p in connection.destination.ports)
    end = port_number(entry.get("endPort"))
    return number <= connection.port <= end if end is not None else number == connection.port


def describe_peer(peer: Object, policy_namespace: str) -> str:
    if "ipBlock" in peer:
        block = peer["ipBlock"] or {}
        excepted = f" except {','.join(block.get('except') or [])}" if block.get("except") else ""
        return f"ipBlock {block.get('cidr')}{excepted}"
    pods = peer.get("podSelector")
    namespaces = peer.get("namespaceSelector")
    pod_text = "all pods" if pods is None or Selector.from_label_selector(pods).is_empty else \
        f"pods {Selector.from_label_selector(pods)}"
    if namespaces is None:
        return pod_text if pod_text != "all pods" else f"all pods in namespace {policy_namespace}"
    ns_selector = Selector.from_label_selector(namespaces)
    ns_text = "all namespaces" if ns_selector.is_empty else f"namespaces {ns_selector}"
    return f"{pod_text} in {ns_text}"


def _describe_ports(ports: Sequence[Object]) -> str:
    parts = []
    for entry in ports:
        port, protocol = entry.get("port"), entry.get("protocol", "TCP")
        if port is None:
            parts.append(f"all {protocol} ports")
        elif entry.get("endPort") is not None:
            parts.append(f"{port}-{entry['endPort']}/{protocol}")
        else:
            parts.append(f"{port}/{protocol}")
    return ", ".join(parts)


def _why_rule_fails(rule: Object, policy: Policy, direction: str, connection: Connection, other: PodSide,
                    namespaces: dict[str, dict[str, str]]) -> str | None:
    """None when the rule admits the connection, else why not (in words)."""
    peers = rule.get("from" if direction == INGRESS else "to") or []
    ports = rule.get("ports") or []
    peer_ok = not peers or any(_peer_matches(p, policy, other, namespaces) for p in peers)
    port_ok = not ports or any(_port_matches(p, connection) for p in ports)
    if peer_ok and port_ok:
        return None
    verb = "admits" if direction == INGRESS else "allows to"
    who = " or ".join(describe_peer(p, policy.namespace) for p in peers) if peers else "everyone"
    text = f"{verb} {who}" + (f" on {_describe_ports(ports)}" if ports else "")
    if not peer_ok:
        side = "caller" if direction == INGRESS else "target"
        where = "" if other.namespace == policy.namespace else f" in namespace {other.namespace}"
        has_ip = any("ipBlock" in p for p in peers) and other.ip is None
        ip_note = " (ipBlock peers need the pod IP: evaluated only against a live cluster)" if has_ip else ""
        return f"{text}; {side} has {format_labels(other.labels)}{where}{ip_note}"
    return f"{text}; connection is {connection.port}/{connection.protocol}"


def _identity_labels(side: PodSide) -> dict[str, str]:
    for key in IDENTITY_LABELS:
        if key in side.labels:
            return {key: side.labels[key]}
    return dict(side.labels)


def _peer(policy_namespace: str, other: PodSide, labels: dict[str, str] | None = None) -> Object:
    """A peer admitting exactly `other`'s application (its identity label, unless `labels` are given), and its
    namespace if another."""
    peer: Object = {"podSelector": {"matchLabels": labels or _identity_labels(other)}}
    if other.namespace != policy_namespace:
        peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: other.namespace}}
    return peer


def _keys(direction: str) -> tuple[str, str]:
    return ("ingress", "from") if direction == INGRESS else ("egress", "to")


def _join(policy: Policy, direction: str, connection: Connection, other: PodSide) -> Object | None:
    """The operation adding `other` as a peer of an existing rule whose ports are exactly this port, or None.

    A peer joins only such a rule: added to a multi-port or all-ports rule it would be admitted on more.
    """
    key, peer_key = _keys(direction)
    for index, rule in enumerate(policy.rules(direction)):
        ports = rule.get("ports") or []
        if rule.get(peer_key) and len(ports) == 1 and _port_matches(ports[0], connection) and \
                ports[0].get("endPort") is None:
            return {"op": "add", "path": f"/spec/{key}/{index}/{peer_key}/-", "value": _peer(policy.namespace, other)}
    return None


def _connection_rule(direction: str, policy_namespace: str, connection: Connection, other: PodSide) -> Object:
    """A rule admitting `other` on this one port."""
    return {_keys(direction)[1]: [_peer(policy_namespace, other)],
            "ports": [{"port": connection.port, "protocol": connection.protocol}]}


def _dns_rule(policy_namespace: str, dns: PodSide) -> Object:
    """An egress rule to the cluster DNS pods (all their labels) on UDP and TCP 53, nothing else.

    TCP too: a resolver retries over TCP when a UDP answer is truncated, and the fix should not leave that
    lookup to fail later.
    """
    return {"to": [_peer(policy_namespace, dns, dns.labels)],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def _patch(policy: Policy, direction: str, joins: list[Object], rules: list[Object], labels: dict[str, str]) -> str:
    """One `kubectl patch` of `policy`: the peers joining existing rules, then the new rules."""
    key = _keys(direction)[0]
    operations = list(joins)
    if rules and policy.rules(direction):
        operations += [{"op": "add", "path": f"/spec/{key}/-", "value": rule} for rule in rules]
    elif rules:  # no rule yet: one operation creates the list (two would each replace it)
        operations.append({"op": "add", "path": f"/spec/{key}", "value": rules})
    return no_command_for(labels) or shell_command(
        "kubectl", "patch", "networkpolicy", policy.name, "-n", policy.namespace, "--type=json",
        "-p=" + json.dumps(operations, separators=(",", ":")))


def _new_policy(direction: str, subject: PodSide, admitted: str, rules: list[Object], labels: dict[str, str]) -> str:
    """A new NetworkPolicy for the subject's application alone, when only namespace-wide baselines isolate it.

    Widening a baseline (a deny-all, an empty podSelector) would open every pod of the namespace; a
    policy scoped to the subject's application opens only the rules given.
    """
    subject_labels = _identity_labels(subject)
    name = "-".join(["allow", admitted, "to" if direction == INGRESS else "from",
                     *subject_labels.values()])[:63].rstrip("-.")
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": name, "namespace": subject.namespace},
              "spec": {"podSelector": {"matchLabels": subject_labels}, "policyTypes": [direction],
                       _keys(direction)[0]: rules}}
    return no_command_for({**subject_labels, **labels}) or (
        shell_command("printf", "%s\\n", json.dumps(policy, separators=(",", ":"))) + " | " +
        shell_command("kubectl", "apply", "-f", "-"))


def _fix(isolating: list[Policy], direction: str, subject: PodSide, connection: Connection | None,
         dns: PodSide | None = None) -> str:
    """The smallest change admitting the connection (if given) and DNS (if given), and nothing more: in the most
    specific policy isolating the subject, else a new policy scoped to the subject's application."""
    other = None if connection is None else (connection.source if direction == INGRESS else connection.destination)
    target = _most_specific(isolating)
    joins: list[Object] = []
    rules: list[Object] = []
    namespace = target.namespace if target else subject.namespace
    if connection is not None and other is not None:
        join = _join(target, direction, connection, other) if target else None
        joins += [join] if join else []
        rules += [] if join else [_connection_rule(direction, namespace, connection, other)]
    if dns is not None:
        rules.append(_dns_rule(namespace, dns))
    labels = {**(_identity_labels(other) if other else {}), **(dns.labels if dns else {})}
    if target:
        return _patch(target, direction, joins, rules, labels)
    admitted = "-".join([*(_identity_labels(other).values() if other else ()), *(["dns"] if dns else [])])
    return _new_policy(direction, subject, admitted, rules, labels)


def _most_specific(policies: list[Policy]) -> Policy | None:
    """The isolating policy to change: the one selecting the pod most specifically; never a baseline."""
    scoped = [p for p in policies if not p.pod_selector.is_empty]
    return max(scoped, key=lambda p: len(p.pod_selector.requirements), default=None)


def evaluate_direction(policies: Iterable[Policy], direction: str, connection: Connection,
                       namespaces: dict[str, dict[str, str]]) -> DirectionVerdict:
    """Ingress: does the destination admit the source? Egress: may the source send to the destination?"""
    subject, other = ((connection.destination, connection.source) if direction == INGRESS
                      else (connection.source, connection.destination))
    isolating = _isolating(policies, direction, subject)
    if not isolating:
        return DirectionVerdict(direction, True)
    names = tuple(p.name for p in isolating)
    reasons = []
    for policy in isolating:
        rules = policy.rules(direction)
        if not rules:
            reasons.append(f"{policy.name} selects {_selected(policy)} and has no {direction.lower()} rules "
                           f"(denies all {direction.lower()})")
            continue
        failures = []
        for index, rule in enumerate(rules):
            why = _why_rule_fails(rule, policy, direction, connection, other, namespaces)
            if why is None:
                return DirectionVerdict(direction, True, names, f"{policy.name} {direction.lower()} rule {index + 1}",
                                        deciding_policy=policy.name)
            failures.append(why)
        if len(rules) == 1:
            detail = f"its only {direction.lower()} rule {failures[0]}"
        else:
            detail = f"no {direction.lower()} rule matches: " + " | ".join(
                f"rule {i + 1} {why}" for i, why in enumerate(failures))
        reasons.append(f"{policy.name} selects {_selected(policy)}; {detail}")
    changed = _most_specific(isolating) or isolating[0]
    return DirectionVerdict(direction, False, names, None, tuple(reasons),
                            _fix(isolating, direction, subject, connection), changed.name)


def _isolating(policies: Iterable[Policy], direction: str, subject: PodSide) -> list[Policy]:
    """The policies isolating the subject in this direction, in a stable order."""
    return sorted((p for p in policies if direction in p.types and p.selects(subject)),
                  key=lambda p: (p.namespace, p.name))


def _selected(policy: Policy) -> str:
    return "every pod in its namespace" if policy.pod_selector.is_empty else f"pods {policy.pod_selector}"


def dns_pods(namespace: str, labels: dict[str, str]) -> PodSide:
    """The cluster DNS pods, as a destination of the caller's lookups (gate.yaml `dns:`)."""
    return PodSide(namespace, dict(labels), f"cluster DNS pods {format_labels(labels)} in namespace {namespace}",
                   ports=(ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp")))


DEFAULT_DNS = dns_pods("kube-system", {"k8s-app": "kube-dns"})


def evaluate(policies: Iterable[Policy], connection: Connection, namespaces: dict[str, dict[str, str]] | None = None,
             dns: PodSide | None = DEFAULT_DNS, incomplete: str | None = None) -> PolicyVerdict:
    """The verdict for one connection to a Service by name: the target's ingress, the caller's egress, and, when
    the caller is egress-isolated, its lookup of the name in the cluster DNS.

    What "admits DNS" means: UDP 53 to the DNS pods. glibc's and musl's resolvers ask over UDP and retry over
    TCP only when an answer is truncated (larger than the UDP payload), so a policy admitting UDP 53 alone
    resolves a Service's name; without it the name never resolves and the caller cannot connect. TCP 53
    missing is a note (large answers will fail), not a denial. A fix admitting DNS admits both.
    """
    policies = list(policies)
    namespaces = namespaces or {}
    ingress = evaluate_direction(policies, INGRESS, connection, namespaces)
    egress = evaluate_direction(policies, EGRESS, connection, namespaces)
    dns_verdict, notes = None, []
    if egress.isolated_by and dns is not None:
        dns_verdict = evaluate_direction(policies, EGRESS, Connection(connection.source, dns, 53, "UDP"), namespaces)
        if not dns_verdict.allowed:
            notes.append(f"DNS is blocked: the caller's egress policies do not allow UDP 53 to {dns.name}; "
                         f"the Service's name will not resolve, so the caller cannot connect")
            # One fix for the caller's egress: the connection (if denied too) and DNS, in one command.
            isolating = _isolating(policies, EGRESS, connection.source)
            dns_fix = _fix(isolating, EGRESS, connection.source, None if egress.allowed else connection, dns)
            if egress.allowed:
                dns_verdict = replace(dns_verdict, patch=dns_fix)
            else:
                egress, dns_verdict = replace(egress, patch=dns_fix), replace(dns_verdict, patch=None)
        elif not evaluate_direction(policies, EGRESS, Connection(connection.source, dns, 53, "TCP"),
                                    namespaces).allowed:
            notes.append(f"DNS over TCP is blocked: the caller's egress policies allow UDP 53 to {dns.name} but "
                         "not TCP 53; ordinary lookups work, an answer too large for UDP (retried over TCP) fails")
    allowed = ingress.allowed and egress.allowed and (dns_verdict is None or dns_verdict.allowed)
    return PolicyVerdict(allowed, ingress, egress, dns_verdict, incomplete, tuple(notes))
