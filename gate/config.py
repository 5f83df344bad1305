"""gate.yaml: declared caller pairs, deadlines and probe settings.

A typo or a wrong type is one line naming the file, the line and the field;
unknown fields are errors (with the nearest known name), never ignored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ConfigError, ManifestError
from gate.kinds import WORKLOAD_KINDS, kind_named
from gate.manifests import parse_documents, read_text
from gate.manifests.positions import node_line
from gate.schema import (
    LABEL_VALUE,
    NAMESPACE_NAME,
    SERVICE_NAME,
    SUBDOMAIN_NAME,
    FieldPath,
    Invalid,
    LabelKey,
    Spec,
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
    location: str  # file:line of the pair, for findings about it

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
    """Reads one mapping with positions, so every error points at its line."""

    def __init__(self, file: str, node: yaml.Node) -> None:
        self.file, self.node = file, node

    def where(self, path: FieldPath) -> str:
        return f"{self.file}:{node_line(self.node, path, self.node.start_mark.line + 1)}"

    def fail(self, path: FieldPath, message: str) -> ConfigError:
        dotted = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        return ConfigError.at(self.where(path), f"{dotted}: {message}")

    def check_keys(self, data: dict[str, Any], path: FieldPath, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(allowed)})"
                raise self.fail((*path, key), f"unknown field{hint}")

    def number(self, value: Any, path: FieldPath) -> float:
        seconds = duration(value)
        if seconds is None:
            raise self.fail(path, f"expected a positive, finite duration in seconds ('30', '30s', '2m'), "
                                  f"got {value!r}")
        return seconds

    def boolean(self, value: Any, path: FieldPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r}")
        return value

    def string(self, value: Any, path: FieldPath) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected a non-empty string, got {value!r}")
        return value

    def mapping(self, value: Any, path: FieldPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
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


def _valid(spec: Spec, value: Any, reader: _Reader, path: FieldPath) -> Any:
    """value, if spec (the API server's rule for such a name) accepts it; else the error at path."""
    try:
        spec.check(value, (), lambda _: None)
    except Invalid as invalid:
        raise reader.fail(path, invalid.message) from None
    return value


def _namespace(value: Any, reader: _Reader, path: FieldPath) -> str:
    return str(_valid(NAMESPACE_NAME, reader.string(value, path), reader, path))


def parse_caller(value: Any, reader: _Reader, path: FieldPath) -> Caller:
    if isinstance(value, str):
        caller = caller_from_text(value)
        if caller is None:
            raise reader.fail(path, f"expected KIND/NAME or NAMESPACE/KIND/NAME (e.g. deployment/api-gateway), "
                                    f"got {value!r}")
        if caller.namespace is not None:
            _namespace(caller.namespace, reader, path)
        _valid(SUBDOMAIN_NAME, caller.workload[1] if caller.workload else "", reader, path)
        return caller
    data = reader.mapping(value, path)
    reader.check_keys(data, path, ("namespace", "labels", "workload"))
    namespace = _namespace(data["namespace"], reader, (*path, "namespace")) if "namespace" in data else None
    if "workload" in data:
        workload = parse_caller(reader.string(data["workload"], (*path, "workload")), reader, (*path, "workload"))
        if namespace and workload.namespace and namespace != workload.namespace:
            raise reader.fail((*path, "namespace"), f"{namespace!r} contradicts the workload's namespace "
                                                    f"{workload.namespace!r}")
        return Caller(namespace or workload.namespace, workload.workload)
    return Caller(namespace, None, _labels(data.get("labels"), reader, (*path, "labels"), "a caller by labels"))


def _labels(value: Any, reader: _Reader, path: FieldPath, what: str) -> dict[str, str]:
    """A non-empty mapping of labels, each key and value as the API server accepts them."""
    labels = reader.mapping(value, path)
    if not labels:
        raise reader.fail(path, f"{what} needs at least one label")
    for key, label in labels.items():
        if not isinstance(key, str) or not isinstance(label, str):
            raise reader.fail((*path, str(key)), f"expected string label keys and values, got {key!r}: {label!r}")
        _valid(LabelKey(), key, reader, (*path, key))
        _valid(LABEL_VALUE, label, reader, (*path, key))
    return dict(labels)


def parse_dns(value: Any, reader: _Reader) -> DnsPods:
    """`dns: {namespace, labels}`: where the callers' lookups go; either key defaults to kube-dns's."""
    data = reader.mapping(value, ("dns",))
    reader.check_keys(data, ("dns",), ("namespace", "labels"))
    default = DnsPods()
    namespace = _namespace(data["namespace"], reader, ("dns", "namespace")) if "namespace" in data \
        else default.namespace
    labels = _labels(data["labels"], reader, ("dns", "labels"), "dns") if "labels" in data else default.labels
    return DnsPods(namespace, labels)


def parse_target(value: Any, reader: _Reader, path: FieldPath) -> Target:
    text = reader.string(value, path)
    target = target_from_text(text)
    if target is None:
        raise reader.fail(path, f"expected SERVICE[.NAMESPACE]:PORT (e.g. inference-api:8080), got {text!r}")
    if port_of(str(target.port)) is None:
        raise reader.fail(path, f"expected a port number (1-65535) or a port name after ':', got {target.port!r}")
    _valid(SERVICE_NAME, target.service, reader, path)
    if target.namespace is not None:
        _valid(NAMESPACE_NAME, target.namespace, reader, path)
    return target


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


def _parse_pair(data: Any, reader: _Reader, path: FieldPath) -> Pair:
    data = reader.mapping(data, path)
    reader.check_keys(data, path, ("from", "to", "expect", "http", "timeout"))
    for required in ("from", "to"):
        if required not in data:
            raise reader.fail(path, f"missing {required!r}")
    expect = data.get("expect", "allow")
    if expect not in ("allow", "deny"):
        raise reader.fail((*path, "expect"), f"expected 'allow' or 'deny', got {expect!r}")
    http = data.get("http")
    if http is not None and (not isinstance(http, str) or not http.startswith("/")):
        raise reader.fail((*path, "http"), f"expected a path starting with '/', got {http!r}")
    timeout = reader.number(data["timeout"], (*path, "timeout")) if "timeout" in data else None
    return Pair(parse_caller(data["from"], reader, (*path, "from")), parse_target(data["to"], reader, (*path, "to")),
                expect == "allow", http, timeout, reader.where(path))


TOP_LEVEL_FIELDS = ("timeout", "rollout_timeout", "endpoints_timeout", "wait_full_timeout", "fail_fast", "probe",
                    "required_labels", "pairs", "dns", "rules", "exclude")
RULE_LEVELS = ("off", "note", "warning", "error")


def parse_rules(value: Any, reader: _Reader) -> dict[str, str]:
    """`rules: {<rule id>: off | note | warning | error}`; an unknown id is an error with the nearest one."""
    from gate.rules import unknown_rule  # the catalog's rules import this module

    rules = reader.mapping(value, ("rules",))
    for rule, level in rules.items():
        if problem := unknown_rule(str(rule)):
            raise reader.fail(("rules", rule), problem)
        if level not in RULE_LEVELS:  # YAML reads a bare `off` as false
            raise reader.fail(("rules", rule), f"expected one of {', '.join(RULE_LEVELS)} (quote 'off'), "
                                               f"got {value[rule]!r}")
    return {str(rule): str(level) for rule, level in rules.items()}


def parse_exclude(value: Any, reader: _Reader) -> tuple[str, ...]:
    """`exclude: [glob, ...]`: paths, relative to a walked directory, that the walk leaves out."""
    if not isinstance(value, list):
        raise reader.fail(("exclude",), "expected a list of path globs")
    return tuple(reader.string(glob, ("exclude", index)) for index, glob in enumerate(value))


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
        raise ConfigError.at(f"{file}:{documents[1][1]}", "expected one YAML document")
    data, _, node = documents[0]
    reader = _Reader(file, node)
    data = reader.mapping(data, ())
    reader.check_keys(data, (), TOP_LEVEL_FIELDS)
    probe = reader.mapping(data.get("probe", {}), ("probe",))
    reader.check_keys(probe, ("probe",), ("image", "mode", "timeout"))
    mode = probe.get("mode", "pod")
    if mode not in PROBE_MODES:
        raise reader.fail(("probe", "mode"), f"expected one of {', '.join(PROBE_MODES)}, got {mode!r}")
    required = data.get("required_labels", [])
    if not isinstance(required, list) or not all(isinstance(k, str) and k for k in required):
        raise reader.fail(("required_labels",), "expected a list of label keys")
    for index, key in enumerate(required):
        _valid(LabelKey(), key, reader, ("required_labels", index))
    pairs = data.get("pairs", [])
    if not isinstance(pairs, list):
        raise reader.fail(("pairs",), "expected a list of pairs")
    defaults = GateConfig()
    parsed = tuple(_parse_pair(p, reader, ("pairs", i)) for i, p in enumerate(pairs))
    _check_duplicates(parsed, reader)
    return GateConfig(
        file=file,
        **{name: reader.number(data[name], (name,)) for name in ("timeout", "rollout_timeout", "endpoints_timeout")
           if name in data},
        wait_full_timeout=reader.boolean(data.get("wait_full_timeout", False), ("wait_full_timeout",)),
        fail_fast=reader.boolean(data.get("fail_fast", False), ("fail_fast",)),
        probe_image=reader.string(probe["image"], ("probe", "image")) if "image" in probe else defaults.probe_image,
        probe_mode=mode,
        probe_timeout=reader.number(probe["timeout"], ("probe", "timeout"))
        if "timeout" in probe else defaults.probe_timeout,
        required_labels=tuple(required),
        pairs=parsed,
        dns=parse_dns(data.get("dns", {}), reader),
        rules=parse_rules(data.get("rules", {}), reader),
        exclude=parse_exclude(data.get("exclude", []), reader),
    )
