"""The fields deploy-gate reads, per kind, checked for type and range before any rule sees an object.

The API server rejects `containerPort: "8080"` or a label value `2`; a gate that
quietly turned them into strings would pass what can never be applied. So every
field a check reads is declared here once, in a small schema per kind, and a
manifest that breaks it is one error naming the field path and the bad value,
as the API server's validation would (k8s.io/apimachinery/pkg/util/validation).
Objects from the live cluster are held to the same schemas plus the status
fields the checks read (`validate_live`, at the end): JSON from the network is
input like any other.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from gate.errors import ClusterError
from gate.kinds import KINDS, GroupKind, KindSpec, is_builtin, spec_for
from gate.objects import FieldPath, dig, dotted

TextOf = Callable[[FieldPath], str | None]  # the value as written in the file, when it was a scalar

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
LABEL_NAME = re.compile(_NAME)
DNS_LABEL = re.compile(_DNS_LABEL)
DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
IANA_SVC_NAME = re.compile(r"(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*(?<!-)")
ASCII_DIGITS = re.compile(r"[0-9]+")
# How templates and pipelines leave a value unfilled: ${VAR}, $VAR, {{ .Values.x }}, __PORT__, <port>;
# where a number is due, a bare upper-case name (PORT) too.
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_]\w*\}?|\{\{.*?\}\}|__[A-Za-z]\w*__|<[A-Za-z][\w .-]*>")
NUMBER_PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")
PROTOCOLS = ("TCP", "UDP", "SCTP")


class Invalid(Exception):
    """A field breaks the schema: its path and the one-line reason."""

    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def describe(value: Any, written: str | None) -> str:
    """The bad value as the user wrote it: `yes`, `2`, `null`, '8080' (quoted), a mapping."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if written is not None:
        return written
    return "null" if value is None else repr(value)


@dataclass(frozen=True)
class Spec:
    """A field's expected shape; `what` names it in messages ('a port number (1-65535)')."""

    what: str
    numeric: ClassVar[bool] = False  # a number is due: a bare upper-case name there is a placeholder

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        raise NotImplementedError

    def wrong(self, value: Any, path: FieldPath, text_of: TextOf, hint: str = "") -> Invalid:
        if isinstance(value, str):
            found = PLACEHOLDER.search(value) or (NUMBER_PLACEHOLDER.fullmatch(value) if self.numeric else None)
            if found:
                return Invalid(path, f"unfilled placeholder {found.group(0)!r}: expected {self.what}; "
                                     f"render the template first")
        return Invalid(path, f"expected {self.what}, got {describe(value, text_of(path))}{hint}")


@dataclass(frozen=True)
class Str(Spec):
    """A string; with a pattern, `what` describes the format it must have."""

    what: str = "a string"
    pattern: re.Pattern[str] | None = None
    max_length: int = 0
    quote_hint: bool = False  # label values: `ver: 2` and `enabled: yes` are a number and a boolean in YAML

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, str):
            scalar = value is None or isinstance(value, bool | int | float)
            hint = " (quote it to make it a string)" if scalar and self.quote_hint else ""
            raise Str().wrong(value, path, text_of, hint)
        if (self.pattern is not None and not self.pattern.fullmatch(value)) or \
                (self.max_length and len(value) > self.max_length):
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class Enum(Spec):
    what: str = ""
    values: tuple[str, ...] = ()

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if value not in self.values:
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class Int(Spec):
    what: str = "an integer"
    numeric: ClassVar[bool] = True
    low: int = 0
    high: int = 2 ** 31 - 1

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class Either(Spec):
    """IntOrString: a number checked by number, a string by string."""

    what: str = ""
    numeric: ClassVar[bool] = True
    number: Spec = field(default_factory=Int)
    string: Spec = field(default_factory=Str)

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.number.check(value, path, text_of)
        elif isinstance(value, str) and not ASCII_DIGITS.fullmatch(value):
            self.string.check(value, path, text_of)
        else:
            raise self.wrong(value, path, text_of, self._quoted_hint(value, path) if isinstance(value, str) else "")

    def _quoted_hint(self, digits: str, path: FieldPath) -> str:
        """A number in quotes is a string, and a name needs a letter: write it bare, when the number is valid."""
        try:
            self.number.check(int(digits), path, lambda _: None)
        except Invalid:
            return " (a number in quotes is neither)"
        return f" (a number in quotes is neither: write {path[-1]}: {int(digits)} without quotes)"


@dataclass(frozen=True)
class ListOf(Spec):
    what: str = "a list"
    item: Spec = field(default_factory=Str)

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, list):
            raise self.wrong(value, path, text_of)
        for index, item in enumerate(value):
            self.item.check(item, (*path, index), text_of)


@dataclass(frozen=True)
class Map(Spec):
    """A mapping: named fields (null means unset, as in the API), or any keys with `keys`/`values` specs.

    closed: unknown fields are errors, with the nearest known name. Only where a typo changes the meaning
    silently: `matchLabel:` in a selector would select every pod; and in gate.yaml, which is deploy-gate's own.
    null_unset: a null field is unset (the API's rule); gate.yaml's own settings hold no null.
    """

    what: str = "a mapping"
    fields: dict[str, Spec] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    closed: bool = False
    keys: Spec | None = None
    values: Spec | None = None
    rule: Callable[[dict[str, Any], FieldPath, TextOf], None] | None = None  # relations between fields
    null_unset: bool = True

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, dict):
            raise self.wrong(value, path, text_of)
        for name in self.required:
            if value.get(name) is None:
                raise Invalid((*path, name), f"missing; {self.what} needs {name}")
        for name, spec in self.fields.items():
            if name in value and (value[name] is not None or not self.null_unset):
                spec.check(value[name], (*path, name), text_of)
        if self.closed or self.keys or self.values:
            self._check_others(value, path, text_of)
        if self.rule is not None:
            self.rule(value, path, text_of)

    def _check_others(self, value: dict[Any, Any], path: FieldPath, text_of: TextOf) -> None:
        """The entries `fields` does not name: unknown (closed), or checked by the key and value specs."""
        for key, item in value.items():
            if key in self.fields:
                continue
            if self.closed and not self.keys:
                near = difflib.get_close_matches(str(key), self.fields, n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(self.fields)}"
                raise Invalid((*path, str(key)), f"unknown field ({hint})")
            if self.keys is not None:
                self.keys.check(key, (*path, str(key)), lambda _: None)
            if self.values is not None:
                self.values.check(item, (*path, str(key)), text_of)


@dataclass(frozen=True)
class Text(Spec):
    """A non-empty string: a setting that names something (an image, a path glob)."""

    what: str = "a non-empty string"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, str) or not value:
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class Duration(Spec):
    """A deadline: seconds ('30') or a Go duration ('30s', '2m'), as `duration` reads it."""

    what: str = "a positive, finite duration in seconds ('30', '30s', '2m')"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if duration(value) is None:
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class LabelKey(Spec):
    """[prefix/]name: prefix a DNS subdomain (at most 253), name at most 63 of [A-Za-z0-9-_.]."""

    what: str = "a label key ([prefix/]name, name at most 63 of A-Z a-z 0-9 - _ .)"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, str):
            raise self.wrong(value, path, text_of)
        prefix, slash, name = value.rpartition("/")
        if not LABEL_NAME.fullmatch(name) or len(name) > 63 or (slash and (
                not DNS_SUBDOMAIN.fullmatch(prefix) or len(prefix) > 253)):
            raise self.wrong(value, path, text_of)


# Label values as the API server takes them (validation.IsValidLabelValue): `back end` or `back~end` would be
# rejected at apply, so a gate that read them would judge an object that can never exist, and a fix built from
# them would propose a value the API server rejects.
LABEL_VALUE = Str("a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)",
                  re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"), 63, quote_hint=True)
LABELS = Map("a mapping of label keys to string values", keys=LabelKey(), values=LABEL_VALUE)
PORT_NUMBER = Int("a port number (1-65535)", 1, 65535)
PORT_NAME = Str("a port name (IANA_SVC_NAME: at most 15 of a-z 0-9 -, with a letter)", IANA_SVC_NAME, 15)
PORT = Either("a port number (1-65535) or a port name", PORT_NUMBER, PORT_NAME)
PROTOCOL = Enum("TCP, UDP or SCTP", PROTOCOLS)


def _expression_values(expression: dict[str, Any], path: FieldPath, text_of: TextOf) -> None:
    """In/NotIn need values; Exists/DoesNotExist must have none (LabelSelectorRequirement validation)."""
    operator, values = expression.get("operator"), expression.get("values") or []
    if operator in ("In", "NotIn") and not values:
        raise Invalid((*path, "values"), f"operator {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and values:
        raise Invalid((*path, "values"), f"operator {operator} takes no values")


LABEL_SELECTOR = Map("a label selector (matchLabels, matchExpressions)", closed=True, fields={
    "matchLabels": LABELS,
    "matchExpressions": ListOf("a list of {key, operator, values}", Map(
        "a {key, operator, values} mapping", required=("key", "operator"), rule=_expression_values, fields={
            "key": LabelKey(), "operator": Enum("In, NotIn, Exists or DoesNotExist",
                                                ("In", "NotIn", "Exists", "DoesNotExist")),
            "values": ListOf("a list of strings", Str())})),
})

def _named(what: str, name: str = "name") -> Map:
    """A reference to another object by name (`configMapRef: {name: app-config}`)."""
    return Map(what, required=(name,), fields={name: Str()})


# The ports of probe and lifecycle handlers, as the API server validates them (k8s.io/kubernetes
# pkg/apis/core/validation: ValidatePortNumOrName for httpGet and tcpSocket, and for grpc's int32 port). A name
# is the one valid form the API server cannot judge alone: whether the container declares it is rule probe-port's.
HANDLER_PORTS = {"httpGet": Map("an HTTP GET action", required=("port",), fields={"port": PORT}),
                 "tcpSocket": Map("a TCP socket action", required=("port",), fields={"port": PORT})}
PROBE = Map("a probe", fields={**HANDLER_PORTS, "grpc": Map("a gRPC action", required=("port",),
                                                            fields={"port": PORT_NUMBER})})
LIFECYCLE_HANDLER = Map("a lifecycle handler", fields=HANDLER_PORTS)
CONTAINERS = ListOf("a list of containers", Map("a container", fields={
    "name": Str(),
    "livenessProbe": PROBE, "readinessProbe": PROBE, "startupProbe": PROBE,
    "lifecycle": Map("a lifecycle", fields={"postStart": LIFECYCLE_HANDLER, "preStop": LIFECYCLE_HANDLER}),
    "ports": ListOf("a list of ports", Map("a container port", required=("containerPort",), fields={
        "containerPort": PORT_NUMBER, "hostPort": PORT_NUMBER, "name": PORT_NAME, "protocol": PROTOCOL})),
    "env": ListOf("a list of variables", Map("a variable", fields={"name": Str(), "valueFrom": Map(
        "a variable source", fields={"configMapKeyRef": _named("a ConfigMap key reference"),
                                     "secretKeyRef": _named("a Secret key reference")})})),
    "envFrom": ListOf("a list of sources", Map("a variable source", fields={
        "configMapRef": _named("a ConfigMap reference"), "secretRef": _named("a Secret reference")})),
}))
# A volume names its Secret by `secretName`; a projected volume's source (SecretProjection) by `name`.
POD_SPEC = Map("a pod spec", fields={
    "containers": CONTAINERS, "initContainers": CONTAINERS, "serviceAccountName": Str(), "serviceAccount": Str(),
    "imagePullSecrets": ListOf("a list of Secret references", Map("a Secret reference", fields={"name": Str()})),
    "volumes": ListOf("a list of volumes", Map("a volume", fields={
        "configMap": _named("a ConfigMap volume"), "secret": _named("a Secret volume", "secretName"),
        "persistentVolumeClaim": _named("a claim volume", "claimName"),
        "projected": Map("a projected volume", fields={"sources": ListOf("a list of sources", Map(
            "a projected source", fields={"configMap": _named("a ConfigMap projection"),
                                          "secret": _named("a Secret projection")}))})})),
})
POD_TEMPLATE = Map("a pod template", fields={
    "metadata": Map("object metadata", fields={"labels": LABELS}),
    "spec": POD_SPEC})


@dataclass(frozen=True)
class Cidr(Spec):
    what: str = "a CIDR (e.g. 10.0.0.0/16)"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            raise self.wrong(value, path, text_of) from None
        if not isinstance(value, str):
            raise self.wrong(value, path, text_of)


def _end_port(entry: dict[str, Any], path: FieldPath, _: TextOf) -> None:
    end, port = entry.get("endPort"), entry.get("port")
    if end is None:
        return
    if not isinstance(port, int):
        raise Invalid((*path, "endPort"), "endPort needs a numeric port")
    if end < port:
        raise Invalid((*path, "endPort"), f"must be at least port ({port}), got {end}")


PEERS = ListOf("a list of peers", Map("a peer (podSelector, namespaceSelector or ipBlock)", fields={
    "podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
    "ipBlock": Map("an ipBlock", required=("cidr",), fields={"cidr": Cidr(), "except": ListOf("a list of CIDRs",
                                                                                               Cidr())})}))
POLICY_PORTS = ListOf("a list of ports", Map("a policy port", rule=_end_port, fields={
    "port": PORT, "endPort": PORT_NUMBER, "protocol": PROTOCOL}))


NAMESPACE_NAME = Str("a namespace name (a DNS label: a-z 0-9 -)", DNS_LABEL, 63)
SERVICE_NAME = Str("a Service name (a DNS-1035 label: a-z 0-9 -, starting with a letter)", DNS_1035_LABEL, 63)


def _metadata(name: Spec) -> Map:
    """An object whose metadata.name has the given form."""
    return Map(fields={"metadata": Map("object metadata", fields={
        "name": name, "generateName": Str(), "labels": LABELS, "namespace": NAMESPACE_NAME})})


OBJECT_METADATA = _metadata(Str())
SUBDOMAIN_NAME = Str("a name (a DNS subdomain: a-z 0-9 - .)", DNS_SUBDOMAIN, 253)


def _nested(path: tuple[str, ...], leaf: Spec) -> Spec:
    """leaf at path, every step on the way a mapping (`template: [1, 2]` is caught at template)."""
    spec = leaf
    for step in reversed(path):
        spec = Map("a mapping", fields={step: spec})
    return spec


def _workload(path: tuple[str, ...], selector: str | None) -> list[Spec]:
    """A workload: its pod template at path (a Pod is its own), and its selector in the kind's form.

    apps/v1 kinds, Job and Argo's Rollout take a LabelSelector; a ReplicationController a plain map.
    """
    specs: list[Spec] = [_metadata(SUBDOMAIN_NAME)]
    specs.append(_nested(path, POD_TEMPLATE) if path else Map(fields={"spec": POD_SPEC}))
    if selector is not None:
        specs.append(_nested(("spec", "selector"), LABEL_SELECTOR if selector == "LabelSelector" else LABELS))
    return specs


SERVICE = Map("a Service spec", fields={
    "type": Enum("ClusterIP, NodePort, LoadBalancer or ExternalName",
                 ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    "selector": LABELS,
    "ports": ListOf("a list of ports", Map("a Service port", required=("port",), fields={
        "port": PORT_NUMBER, "nodePort": PORT_NUMBER, "protocol": PROTOCOL,
        # 0 and '' mean "the same as port": the API server defaults them (SetDefaults_Service), as an absent one.
        "targetPort": Either("a port number (1-65535; 0: the Service port) or a port name",
                             Int("a port number (0-65535)", 0, 65535),
                             Str(PORT_NAME.what, re.compile(f"({IANA_SVC_NAME.pattern})?"), 15)),
        "name": Str("a port name (a DNS label: a-z 0-9 -)", DNS_LABEL, 63)})),
})
NETWORK_POLICY = Map("a NetworkPolicy spec", fields={
    "podSelector": LABEL_SELECTOR,
    "policyTypes": ListOf("a list of Ingress, Egress", Enum("Ingress or Egress", ("Ingress", "Egress"))),
    "ingress": ListOf("a list of rules", Map("an ingress rule", fields={"from": PEERS, "ports": POLICY_PORTS})),
    "egress": ListOf("a list of rules", Map("an egress rule", fields={"to": PEERS, "ports": POLICY_PORTS})),
})
CRD = Map("a CustomResourceDefinition spec", fields={"group": Str(), "names": Map(fields={"kind": Str()})})
INGRESS_BACKEND = Map("an Ingress backend", fields={"service": Map("a Service backend", required=("name",), fields={
    "name": Str(), "port": Map("a Service port (number or name)", fields={"number": PORT_NUMBER,
                                                                            "name": Str()})})})
INGRESS = Map("an Ingress spec", fields={
    "defaultBackend": INGRESS_BACKEND,
    "rules": ListOf("a list of rules", Map("an Ingress rule", fields={"http": Map("an HTTP rule", fields={
        "paths": ListOf("a list of paths", Map("an Ingress path", fields={"backend": INGRESS_BACKEND}))})})),
})
ROUTE = Map("a route spec", fields={"rules": ListOf("a list of rules", Map("a route rule", fields={
    "backendRefs": ListOf("a list of backends", Map("a backend reference", required=("name",), fields={
        "name": Str(), "namespace": Str(), "kind": Str(), "group": Str(), "port": PORT_NUMBER}))}))})
HPA = Map("a HorizontalPodAutoscaler spec", fields={"scaleTargetRef": Map(
    "a target reference", required=("kind", "name"), fields={"kind": Str(), "name": Str(), "apiVersion": Str()})})

# The shapes of the fields deploy-gate reads, by the name a kind's spec gives (gate.kinds `schema`).
SCHEMAS: dict[str, list[Spec]] = {
    "service": [_metadata(SERVICE_NAME), Map(fields={"spec": SERVICE})],
    "network-policy": [_metadata(SUBDOMAIN_NAME), Map(fields={"spec": NETWORK_POLICY})],
    "namespace": [_metadata(NAMESPACE_NAME)],
    "crd": [OBJECT_METADATA, Map(fields={"spec": CRD})],
    "ingress": [OBJECT_METADATA, Map(fields={"spec": INGRESS})],
    "hpa": [OBJECT_METADATA, Map(fields={"spec": HPA})],
    "pdb": [OBJECT_METADATA, _nested(("spec", "selector"), LABEL_SELECTOR)],
    # Monitors select by a LabelSelector, and look in `any` or the `matchNames` namespaces (prometheus-operator).
    "monitor": [OBJECT_METADATA, Map(fields={"spec": Map("a monitor spec", fields={
        "selector": LABEL_SELECTOR,
        "namespaceSelector": Map("a namespace selector (any, matchNames)", closed=True, fields={
            "any": Enum("true or false", (True, False)),
            "matchNames": ListOf("a list of namespace names", NAMESPACE_NAME)})})})],
    "route": [OBJECT_METADATA, Map(fields={"spec": ROUTE})],
}


def _kind_schema(spec: KindSpec) -> list[Spec] | None:
    """What a kind's spec says its manifests hold: its named shape, or a workload's template and selector."""
    if spec.schema is not None:
        return SCHEMAS[spec.schema]
    return _workload(spec.template, spec.selector) if spec.template is not None else None


# Each kind's schema, built once from the table; a kind without one gets OBJECT_METADATA only.
KIND_SCHEMAS: dict[GroupKind, list[Spec]] = {
    key: schema for key, spec in KINDS.items() if (schema := _kind_schema(spec)) is not None}
# Any other custom kind with a selector and a pod template (OpenKruise CloneSet, ...) is read as a workload
# (gate.objects.template_path): its template is a pod template, and a selector written as a LabelSelector (a key
# `match...`) is closed, so that `matchLabel:` is an error, not a selector of every pod. A plain-map selector is
# some CRD's own shape: left be.
CUSTOM_WORKLOAD_TEMPLATE = _nested(("spec", "template"), POD_TEMPLATE)
CUSTOM_WORKLOAD_SELECTOR = _nested(("spec", "selector"), LABEL_SELECTOR)


def _custom_workload_schema(obj: dict[str, Any]) -> list[Spec]:
    selector = dig(obj, "spec", "selector")
    if not isinstance(selector, dict) or not isinstance(dig(obj, "spec", "template"), dict):
        return []
    keyed = any(isinstance(key, str) and key.lower().startswith("match") for key in selector)
    return [CUSTOM_WORKLOAD_TEMPLATE, *([CUSTOM_WORKLOAD_SELECTOR] if keyed else [])]


IDENTITY = Map(fields={"apiVersion": Str("an apiVersion string (e.g. apps/v1)"),
                       "kind": Str("a kind name string (e.g. Service)"),
                       "metadata": Map("object metadata (a mapping)")})


def check(obj: dict[str, Any], text_of: TextOf = lambda _: None) -> None:
    """Raise Invalid for the first field of obj that its kind's schema rejects."""
    IDENTITY.check(obj, (), text_of)
    known = spec_for(obj["kind"], obj["apiVersion"])
    specs = KIND_SCHEMAS.get(known.key) if known is not None else None
    if specs is None:
        specs = [OBJECT_METADATA] if is_builtin(obj["apiVersion"]) else [OBJECT_METADATA,
                                                                         *_custom_workload_schema(obj)]
    for spec in specs:
        spec.check(obj, (), text_of)


def port_of(text: str) -> int | str | None:
    """A port written as text (gate.yaml, --to): 1-65535 in ASCII digits, or an IANA port name; None if neither.

    `str.isdigit()` accepts '²' and int() of it fails: only ASCII digits are a number here.
    """
    if ASCII_DIGITS.fullmatch(text):
        return int(text) if 1 <= int(text) <= 65535 else None
    return text if IANA_SVC_NAME.fullmatch(text) and len(text) <= 15 else None


_DURATION_PART = r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_GO_DURATION = re.compile(rf"(?:{_DURATION_PART})+")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration(value: Any) -> float | None:
    """Seconds from a number of seconds ('30') or a Go duration as kubectl and helm take it ('30s', '2m',
    '5m0s', '1h2m3.5s', '500ms'); None unless finite and positive."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _GO_DURATION.fullmatch(text):
                seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(_DURATION_PART, text))
            else:
                seconds = float(text) if re.fullmatch(r"\d+\.?\d*|\.\d+", text) else math.nan
        except OverflowError:
            return None
    else:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


# --- Live objects ----------------------------------------------------------------------------------------------
# The API server validates what it stores, but what reaches deploy-gate is JSON from whatever answers at the
# server's address: a proxy, an aggregated API server, a webhook's mutation, a compromised endpoint. A check that
# read `readyReplicas: "x"` would crash or, worse, decide on nonsense; so every field of a live object that a check
# reads is held to the API's type here too, and a live object that breaks it is a check that cannot be made.


class MalformedObject(ClusterError):
    """A live object breaks the API's type of a field a check reads: it could not be verified (exit 3)."""


def rfc3339(value: Any) -> datetime | None:
    """A time as the API writes it ('2026-01-31T12:00:00Z', MicroTime with a fraction), or None (naive times too:
    they cannot be compared with now)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True)
class Timestamp(Spec):
    what: str = "an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if rfc3339(value) is None:
            raise self.wrong(value, path, text_of)


@dataclass(frozen=True)
class Bool(Spec):
    what: str = "true or false"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, bool):
            raise self.wrong(value, path, text_of)


COUNT = Int("an integer (0 or more)")  # int32 counts: replicas, ready pods, restarts
GENERATION = Int("an integer (0 or more)", 0, 2 ** 63 - 1)  # int64
CONDITIONS = ListOf("a list of conditions", Map("a condition", fields={
    "type": Str(), "status": Str(), "reason": Str(), "message": Str()}))
# What every live object is read for: identity, owners, deletion, and kstatus' generic status (custom kinds too).
LIVE_OBJECT = Map(fields={
    "metadata": Map("object metadata", fields={
        "name": Str(), "namespace": Str(), "uid": Str(), "generation": GENERATION, "labels": LABELS,
        "annotations": Map("a mapping of annotations to string values", values=Str()),
        "creationTimestamp": Timestamp(), "deletionTimestamp": Timestamp(),
        "ownerReferences": ListOf("a list of owner references", Map("an owner reference", fields={
            "kind": Str(), "name": Str(), "uid": Str(), "controller": Bool()}))}),
    "status": Map("a status", fields={"conditions": CONDITIONS}),
})
# ... and status.observedGeneration, an integer but where a kind's spec says it is text (gate.kinds).
OBSERVED_GENERATION = Map(fields={"status": Map("a status", fields={"observedGeneration": GENERATION})})


def _counts(*names: str) -> dict[str, Spec]:
    return dict.fromkeys(names, COUNT)


def _live(spec: dict[str, Spec], status: dict[str, Spec]) -> list[Spec]:
    return [Map(fields={"spec": Map("a spec", fields=spec), "status": Map("a status", fields=status)})]


UPDATE_STRATEGY = Map("an update strategy", fields={"type": Str()})  # a DaemonSet's has no partition
PARTITIONED_UPDATE_STRATEGY = Map("an update strategy", fields={
    "type": Str(), "rollingUpdate": Map("a rolling update", fields={"partition": COUNT})})
CONTAINER_STATE = Map("a container state", fields={
    "waiting": Map("a waiting state", fields={"reason": Str(), "message": Str()}),
    "running": Map("a running state"),
    "terminated": Map("a terminated state", fields={
        "reason": Str(), "message": Str(), "exitCode": Int("an exit code (an integer)", -2 ** 31)})})
CONTAINER_STATUSES = ListOf("a list of container statuses", Map("a container status", fields={
    "name": Str(), "ready": Bool(), "restartCount": COUNT, "state": CONTAINER_STATE, "lastState": CONTAINER_STATE}))
# The status (and spec) fields each kind's check reads (gate/status, gate/verify), by the name a kind's spec
# gives (gate.kinds `live_schema`).
LIVE_SCHEMAS: dict[str, list[Spec]] = {
    "deployment": _live({"replicas": COUNT, "paused": Bool()},
                                  _counts("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")),
    "statefulset": _live({"replicas": COUNT, "updateStrategy": PARTITIONED_UPDATE_STRATEGY}, {
        **_counts("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
        "updateRevision": Str(), "currentRevision": Str()}),
    "daemonset": _live({"updateStrategy": UPDATE_STRATEGY}, _counts(
        "desiredNumberScheduled", "updatedNumberScheduled", "numberAvailable", "numberReady")),
    "replicaset": _live({"replicas": COUNT}, _counts("replicas", "readyReplicas", "availableReplicas")),
    "replicationcontroller": _live({"replicas": COUNT}, _counts("replicas", "readyReplicas")),
    "job": _live({"completions": COUNT, "suspend": Bool()}, _counts("succeeded", "active", "failed")),
    "pod": _live({}, {"phase": Str(), "reason": Str(), "message": Str(), "startTime": Timestamp(),
                            "containerStatuses": CONTAINER_STATUSES, "initContainerStatuses": CONTAINER_STATUSES}),
    "endpointslice": [Map(fields={
        "endpoints": ListOf("a list of endpoints", Map("an endpoint", fields={"conditions": Map(
            "endpoint conditions", fields={"ready": Bool(), "serving": Bool(), "terminating": Bool()})})),
        "ports": ListOf("a list of ports", Map("an endpoint port", fields={
            "name": Str(), "port": PORT_NUMBER, "protocol": PROTOCOL}))})],
    "event": [Map(fields={
        "type": Str(), "reason": Str(), "message": Str(), "count": COUNT, "lastTimestamp": Timestamp(),
        "eventTime": Timestamp(), "involvedObject": Map("an object reference", fields={
            "kind": Str(), "name": Str()})})],
    # Argo Rollouts writes observedGeneration as text: digits since v0.10, a hash before.
    "rollout": _live({"replicas": COUNT}, {
        **_counts("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
        "phase": Str(), "message": Str(), "observedGeneration": Str(), "controllerPause": Bool(),
        "pauseConditions": ListOf("a list of pause conditions", Map("a pause condition", fields={
            "reason": Str()}))}),
}
# An Argo CD Application, for the touched set of --argocd-app (gate/verify/argocd.py).
ARGOCD_APPLICATION = Map(fields={"status": Map("a status", fields={"resources": ListOf(
    "a list of resources", Map("a resource", fields=dict.fromkeys(
        ("group", "version", "kind", "namespace", "name"), Str())))})})


def validate_live(obj: Any, kind: str, *more: Spec) -> None:
    """Raise MalformedObject, naming object and field, unless obj is a `kind` (as asked of the API server) whose
    every field a check reads has the API's type: the kind's manifest schema, its live fields, and `more`."""
    try:
        if not isinstance(obj, dict):
            raise Invalid((), f"expected an object, got {describe(obj, None)}")
        IDENTITY.check(obj, (), lambda _: None)
        if obj.get("kind", kind) != kind:
            raise Invalid(("kind",), f"expected {kind} (the kind asked for), got {describe(obj['kind'], None)}")
        known = spec_for(kind, obj.get("apiVersion"))
        for spec in (LIVE_OBJECT, *_live_schema(known), *more):
            spec.check(obj, (), lambda _: None)
    except Invalid as invalid:
        raise MalformedObject(f"malformed object from the API server: {_live_name(obj, kind)}: "
                              f"{dotted(invalid.path) or 'the object'}: {invalid.message}") from None


def _live_schema(known: KindSpec | None) -> list[Spec]:
    """What a live object of a kind is read for: its generation, manifest schema and status fields."""
    if known is None:
        return [OBSERVED_GENERATION]
    return [*([] if known.generation_text else [OBSERVED_GENERATION]), *KIND_SCHEMAS.get(known.key, ()),
            *(LIVE_SCHEMAS[known.live_schema] if known.live_schema else ())]


def _live_name(obj: Any, kind: str) -> str:
    """'deployment/web in namespace shop', as far as the object says it."""
    name, namespace = dig(obj, "metadata", "name"), dig(obj, "metadata", "namespace")
    text = f"{kind.lower()}/{name if isinstance(name, str) else '?'}"
    return text + (f" in namespace {namespace}" if isinstance(namespace, str) and namespace else "")


# A Flux Kustomization (kustomize.toolkit.fluxcd.io/v1), for the touched set of --flux-kustomization
# (gate/flux.py). Its inventory ids are fluxcd/cli-utils' ObjMetadata strings, `<namespace>_<name>_<group>_<kind>`:
# the namespace empty for a cluster-scoped object, the group for the core group, and a ':' in an RBAC object's
# name written as '__' (names and namespaces cannot hold '_' otherwise).
FLUX_INVENTORY_ID = re.compile(
    rf"(?P<namespace>{_DNS_LABEL})?_(?P<name>[A-Za-z0-9](?:(?:[-A-Za-z0-9.]|__)*[A-Za-z0-9])?)"
    rf"_(?P<group>{_DNS_LABEL}(?:\.{_DNS_LABEL})*)?_(?P<kind>[A-Za-z][A-Za-z0-9]*)")
API_VERSION_NAME = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
FLUX_KUSTOMIZATION = Map(fields={
    "spec": Map("a spec", fields={"suspend": Bool()}),
    "status": Map("a status", fields={
        "lastAppliedRevision": Str(), "lastAttemptedRevision": Str(),
        "conditions": ListOf("a list of conditions", Map("a condition", fields={"observedGeneration": GENERATION})),
        "inventory": Map("an inventory", fields={"entries": ListOf("a list of inventory entries", Map(
            "an inventory entry", required=("id", "v"), fields={
                "id": Str("an inventory id <namespace>_<name>_<group>_<kind>", FLUX_INVENTORY_ID, 700),
                "v": Str("an API version (v1, v1beta2)", API_VERSION_NAME, 63)}))})})})
# A Flux HelmRelease (helm.toolkit.fluxcd.io/v2), for --flux-helmrelease (gate/flux.py): what names its Helm
# release and where Helm stores it. Release names are Helm's (a DNS subdomain of at most 53 characters).
HELM_RELEASE_NAME = Str("a Helm release name (a DNS subdomain of at most 53 characters)", DNS_SUBDOMAIN, 53)
FLUX_HELMRELEASE = Map(fields={
    "spec": Map("a spec", fields={"suspend": Bool(), "releaseName": HELM_RELEASE_NAME,
                                  "targetNamespace": NAMESPACE_NAME, "storageNamespace": NAMESPACE_NAME}),
    "status": Map("a status", fields={
        "storageNamespace": NAMESPACE_NAME,
        "conditions": ListOf("a list of conditions", Map("a condition", fields={"observedGeneration": GENERATION})),
        "history": ListOf("a list of release snapshots", Map("a release snapshot", fields={
            "name": HELM_RELEASE_NAME, "namespace": NAMESPACE_NAME, "version": GENERATION}))})})
