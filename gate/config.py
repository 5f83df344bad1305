"""gate.yaml: declared caller pairs, deadlines and probe settings.

A typo or a wrong type is one line naming the file, the line and the field;
unknown fields are errors (with the nearest known name), never ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ConfigError, ManifestError
from gate.kinds import WORKLOAD_KINDS, kind_named
from gate.location import Location
from gate.manifests import parse_documents, read_text
from gate.manifests.positions import node_line, written
from gate.objects import FieldPath
from gate.schema import (
    LABEL_VALUE,
    NAMESPACE_NAME,
    SERVICE_NAME,
    SUBDOMAIN_NAME,
    Bool,
    Duration,
    Enum,
    Invalid,
    LabelKey,
    ListOf,
    Map,
    Spec,
    Str,
    Text,
    TextOf,
    duration,
    port_of,
)

DEFAULT_PROBE_IMAGE = "busybox:1.36"
PROBE_MODES = ("pod", "exec")
ANY_WORKLOAD = "*"  # a caller named without its kind: any workload kind with that name


@dataclass(frozen=True)
class Caller:
    """The caller of a pair: a workload (kind/name) or a namespace plus pod labels."""

    namespace: str | None
    workload: tuple[str, str] | None = None  # (Kind, name)
    labels: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.workload:
            return f"{self.workload[0].lower()}/{self.workload[1]}"
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


@dataclass(frozen=True)
class Target:
    """A Service port: `name[.namespace]:port`, the port a number or a port name."""

    service: str
    namespace: str | None
    port: int | str

    def __str__(self) -> str:
        return f"{self.service}{'.' + self.namespace if self.namespace else ''}:{self.port}"


@dataclass(frozen=True)
class Pair:
    caller: Caller
    target: Target
    expect_allow: bool
    http_path: str | None
    timeout: float | None
    location: Location  # where the pair is written, for findings about it

    @property
    def name(self) -> str:
        return f"{self.caller} -> {self.target} {'allow' if self.expect_allow else 'deny'}"


@dataclass(frozen=True)
class DnsPods:
    """The cluster DNS pods an egress-isolated caller must reach (UDP 53) to resolve a Service's name."""

    namespace: str = "kube-system"
    labels: dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})  # CoreDNS keeps kube-dns's


@dataclass(frozen=True)
class GateConfig:
    file: str | None = None
    # None: not set here. Each check's deadline is the earlier of its own and `timeout`, the whole run's
    # (gate.verify.engine.Deadlines.chosen; defaults there).
    timeout: float | None = None
    rollout_timeout: float | None = None
    endpoints_timeout: float | None = None
    wait_full_timeout: bool = False
    fail_fast: bool = False
    probe_image: str = DEFAULT_PROBE_IMAGE
    probe_mode: str = "pod"
    probe_timeout: float = 20.0
    required_labels: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()
    dns: DnsPods = field(default_factory=DnsPods)
    rules: dict[str, str] = field(default_factory=dict)  # rule id -> off | note | warning | error
    exclude: tuple[str, ...] = ()  # path globs a directory walk leaves out (gate.manifests)


def workload_kind(alias: str) -> str | None:
    """The workload kind a caller names (kubectl's names and short names), or None."""
    kind = kind_named(alias)
    return kind if kind in WORKLOAD_KINDS else None


class _Reader:
    """Reads gate.yaml with positions, so every error points at its line and field."""

    def __init__(self, file: str, node: yaml.Node) -> None:
        self.file, self.node = file, node

    def where(self, path: FieldPath) -> Location:
        return Location(self.file, node_line(self.node, path, self.node.start_mark.line + 1))

    def fail(self, path: FieldPath, message: str) -> ConfigError:
        dotted = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        return ConfigError.at(self.where(path), f"{dotted}: {message}")

    def valid(self, spec: Spec, value: Any, path: FieldPath) -> Any:
        """value, if spec accepts it; else the error at the field it names, in gate.schema's words."""
        try:
            spec.check(value, path, lambda at: written(self.node, at))
        except Invalid as invalid:
            raise self.fail(invalid.path, invalid.message) from None
        return value


def caller_from_text(text: str, any_kind: bool = False) -> Caller | None:
    """KIND/NAME or NAMESPACE/KIND/NAME, the caller grammar of gate.yaml and `explain --from`; None if neither.

    any_kind (explain only): also NAMESPACE/NAME and NAME, a workload of any kind with that name.
    """
    parts = text.split("/")
    kind = workload_kind(parts[-2]) if len(parts) in (2, 3) else None
    if kind and (parts[-1] or any_kind):
        namespace = parts[0] if len(parts) == 3 else None
        return Caller(namespace if any_kind else namespace or None, (kind, parts[-1]))
    if any_kind and len(parts) == 2:
        return Caller(parts[0], (ANY_WORKLOAD, parts[1]))
    if any_kind and len(parts) == 1 and parts[0]:
        return Caller(None, (ANY_WORKLOAD, parts[0]))
    return None


def target_from_text(text: str, slash_namespace: bool = False) -> Target | None:
    """SERVICE[.NAMESPACE]:PORT, the target grammar of gate.yaml; with slash_namespace (explain) also
    NAMESPACE/SERVICE:PORT. None if neither."""
    service, colon, port = text.rpartition(":")
    if not colon or not service or not port:
        return None
    namespace, slash, name = service.rpartition("/") if slash_namespace else ("", "", service)
    if not slash:
        name, _, namespace = service.partition(".")
        # The DNS name a pod would use: web.shop.svc or web.shop.svc.cluster.local is web in shop.
        short, dot, domain = namespace.partition(".")
        if dot and (domain == "svc" or domain.startswith("svc.")):
            namespace = short
    # An invalid port stays text, for the caller to name in its message (port_of: 1-65535, ASCII digits only).
    number_or_name = port_of(port)
    return Target(name, namespace or None, port if number_or_name is None else number_or_name)


# --- gate.yaml's schema: the shape and types of every setting, checked as the manifests' fields are -----------


def _some_labels(what: str, labels: dict[str, Any], path: FieldPath, _: TextOf) -> None:
    if not labels:
        raise Invalid(path, f"{what} needs at least one label")


def _labels(what: str) -> Map:
    """A non-empty mapping of labels, each key and value as the API server accepts them."""
    return Map("a mapping", keys=LabelKey(), values=LABEL_VALUE, rule=partial(_some_labels, what))


def _names_a_caller(data: dict[str, Any], path: FieldPath, _: TextOf) -> None:
    if "workload" not in data and "labels" not in data:
        raise Invalid(path, "missing 'workload' or 'labels'")


def _has_ends(data: dict[str, Any], path: FieldPath, _: TextOf) -> None:
    for required in ("from", "to"):
        if required not in data:
            raise Invalid(path, f"missing {required!r}")


@dataclass(frozen=True)
class _TextOr(Spec):
    """Text whose grammar its parser reads (a caller: KIND/NAME), or a mapping checked here."""

    what: str = ""
    mapping: Map = field(default_factory=Map)

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, str):
            self.mapping.check(value, path, text_of)


RULE_LEVELS = ("off", "note", "warning", "error")
CALLER = _TextOr(mapping=Map("a mapping", closed=True, null_unset=False, rule=_names_a_caller, fields={
    "namespace": Text(), "labels": _labels("a caller by labels"), "workload": Text()}))
PAIR = Map("a mapping", closed=True, null_unset=False, rule=_has_ends, fields={
    "from": CALLER, "to": Text(), "expect": Enum("'allow' or 'deny'", ("allow", "deny")),
    "http": Str("a path starting with '/'", re.compile(r"/.*", re.S)), "timeout": Duration()})
GATE_YAML = Map("a mapping", closed=True, null_unset=False, fields={
    **dict.fromkeys(("timeout", "rollout_timeout", "endpoints_timeout"), Duration()),
    "wait_full_timeout": Bool(),
    "fail_fast": Bool(),
    "probe": Map("a mapping", closed=True, null_unset=False, fields={
        "image": Text(), "mode": Enum(f"one of {', '.join(PROBE_MODES)}", PROBE_MODES), "timeout": Duration()}),
    "required_labels": ListOf("a list of label keys", LabelKey()),
    "pairs": ListOf("a list of pairs", PAIR),
    "dns": Map("a mapping", closed=True, null_unset=False, fields={"namespace": Text(), "labels": _labels("dns")}),
    "rules": Map("a mapping", values=Enum(f"one of {', '.join(RULE_LEVELS)} (quote 'off')", RULE_LEVELS)),
    "exclude": ListOf("a list of path globs", Text()),
})


# --- What the checked settings mean: callers and targets (their grammar), defaults, repeated pairs ---------------


def _caller(value: Any, reader: _Reader, path: FieldPath) -> Caller:
    if isinstance(value, str):
        caller = caller_from_text(value)
        if caller is None:
            raise reader.fail(path, f"expected KIND/NAME or NAMESPACE/KIND/NAME (e.g. deployment/api-gateway), "
                                    f"got {value!r}")
        if caller.namespace is not None:
            reader.valid(NAMESPACE_NAME, caller.namespace, path)
        reader.valid(SUBDOMAIN_NAME, caller.workload[1] if caller.workload else "", path)
        return caller
    namespace = reader.valid(NAMESPACE_NAME, value["namespace"], (*path, "namespace")) if "namespace" in value \
        else None
    if "workload" in value:
        workload = _caller(value["workload"], reader, (*path, "workload"))
        if namespace and workload.namespace and namespace != workload.namespace:
            raise reader.fail((*path, "namespace"), f"{namespace!r} contradicts the workload's namespace "
                                                    f"{workload.namespace!r}")
        return Caller(namespace or workload.namespace, workload.workload)
    return Caller(namespace, None, dict(value["labels"]))


def _target(text: str, reader: _Reader, path: FieldPath) -> Target:
    target = target_from_text(text)
    if target is None:
        raise reader.fail(path, f"expected SERVICE[.NAMESPACE]:PORT (e.g. inference-api:8080), got {text!r}")
    if port_of(str(target.port)) is None:
        raise reader.fail(path, f"expected a port number (1-65535) or a port name after ':', got {target.port!r}")
    reader.valid(SERVICE_NAME, target.service, path)
    if target.namespace is not None:
        reader.valid(NAMESPACE_NAME, target.namespace, path)
    return target


def _pair(data: dict[str, Any], reader: _Reader, path: FieldPath) -> Pair:
    return Pair(_caller(data["from"], reader, (*path, "from")), _target(data["to"], reader, (*path, "to")),
                data.get("expect", "allow") == "allow", data.get("http"),
                duration(data["timeout"]) if "timeout" in data else None, reader.where(path))


def _check_duplicates(pairs: tuple[Pair, ...], reader: _Reader) -> None:
    """The same caller and target twice: a copy, or two contradicting expectations; either is a mistake."""
    seen: dict[tuple[str, str | None, str], int] = {}
    for index, pair in enumerate(pairs):
        key = (str(pair.caller), pair.caller.namespace, str(pair.target))
        if key in seen:
            first = pairs[seen[key]]
            what = "repeats" if first.expect_allow == pair.expect_allow else "contradicts"
            raise reader.fail(("pairs", index), f"{pair.caller} -> {pair.target} {what} pairs[{seen[key]}] "
                                                f"({first.location}); declare each pair once")
        seen[key] = index


def _dns(data: dict[str, Any], reader: _Reader) -> DnsPods:
    """`dns: {namespace, labels}`: where the callers' lookups go; either key defaults to kube-dns's."""
    default = DnsPods()
    namespace = reader.valid(NAMESPACE_NAME, data["namespace"], ("dns", "namespace")) if "namespace" in data \
        else default.namespace
    return DnsPods(namespace, dict(data["labels"]) if "labels" in data else default.labels)


def _rules(levels: dict[Any, str], reader: _Reader) -> dict[str, str]:
    """`rules: {<rule id>: off | note | warning | error}`; an unknown id is an error with the nearest one."""
    from gate.rules import unknown_rule  # the catalog's rules import this module

    for rule in levels:
        if problem := unknown_rule(str(rule)):
            raise reader.fail(("rules", rule), problem)
    return {str(rule): level for rule, level in levels.items()}


def load_config(path: Path | str | None) -> GateConfig:
    """Parse gate.yaml (None: the defaults)."""
    if path is None:
        return GateConfig()
    file = str(path)
    try:
        documents = parse_documents(read_text(path), file)
    except ManifestError as error:
        raise ConfigError(str(error), error.location) from error
    if not documents:
        return GateConfig(file=file)
    if len(documents) > 1:
        raise ConfigError.at(Location(file, documents[1][1]), "expected one YAML document")
    data, _, node = documents[0]
    reader = _Reader(file, node)
    reader.valid(GATE_YAML, data, ())
    pairs = tuple(_pair(pair, reader, ("pairs", index)) for index, pair in enumerate(data.get("pairs", [])))
    _check_duplicates(pairs, reader)
    defaults, probe = GateConfig(), data.get("probe", {})
    return GateConfig(
        file=file,
        **{name: duration(data[name]) for name in ("timeout", "rollout_timeout", "endpoints_timeout") if name in data},
        wait_full_timeout=data.get("wait_full_timeout", defaults.wait_full_timeout),
        fail_fast=data.get("fail_fast", defaults.fail_fast),
        probe_image=probe.get("image", defaults.probe_image),
        probe_mode=probe.get("mode", defaults.probe_mode),
        probe_timeout=duration(probe["timeout"]) if "timeout" in probe else defaults.probe_timeout,
        required_labels=tuple(data.get("required_labels", ())),
        pairs=pairs,
        dns=_dns(data.get("dns", {}), reader),
        rules=_rules(data.get("rules", {}), reader),
        exclude=tuple(data.get("exclude", ())),
    )
