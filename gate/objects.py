"""Plain Kubernetes objects (dicts, as in YAML or the API's JSON): identity, kinds, pod templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gate.kinds import BUILTIN_KINDS, KINDS, ControllerLabel, KindSpec, is_builtin, is_cluster_scoped, spec_for

Object = dict[str, Any]
# Where a field is in an object: its keys and list indexes, ("spec", "ports", 0, "port"). The one form of a
# field path: schema errors, the line look-up of a location, references and fixes all take it.
FieldPath = tuple[str | int, ...]


def dotted(path: FieldPath) -> str:
    """spec.ports[0].port; a key holding '.' or '/' (label keys) in brackets: labels["app.kubernetes.io/name"]."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", step):
            text += f".{step}" if text else step
        else:
            text += f"[{step!r}]"
    return text



@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which object: kind, namespace (None for cluster-scoped), name, and the kind's API group.

    The group is part of the identity (kstatus' ObjMetadata carries the GroupKind): an Istio
    `Gateway` and a Gateway API `Gateway` of one name are two objects, and so are a `batch/v1`
    Job and a Volcano Job. Left out, it is the built-in kind's group (`apps` for a Deployment),
    else the core group.
    """

    kind: str
    namespace: str | None
    name: str
    group: str | None = None

    def __post_init__(self) -> None:
        if self.group is None:
            builtin = BUILTIN_KINDS.get(self.kind)
            object.__setattr__(self, "group", builtin.resource.group if builtin else "")

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def spec(self) -> KindSpec | None:
        """What gate.kinds knows of this object's kind, by (group, kind): None for a kind it does not know."""
        return KINDS.get((self.group or "", self.kind))

    @property
    def runs_pods(self) -> bool:
        """A kind the table knows to run pods from a template (a built-in workload, Argo's Rollout)."""
        return self.spec is not None and self.spec.template is not None

    @property
    def qualified(self) -> str:
        """kind/name plus the namespace, for messages that span namespaces."""
        return f"{self} in namespace {self.namespace}" if self.namespace else str(self)


def ref_of(obj: Object, default_namespace: str = "default") -> ObjectRef:
    kind = obj.get("kind", "")
    metadata = obj.get("metadata") or {}
    namespace = None if is_cluster_scoped(kind) else (metadata.get("namespace") or default_namespace)
    name = metadata.get("name") or generated_name(obj)
    return ObjectRef(kind, namespace, name, kind_group(kind, obj.get("apiVersion")))


def kind_group(kind: str, api_version: Any) -> str | None:
    """The group identifying `kind`: None (the built-in kind's own) for a built-in kind in any group Kubernetes
    serves it from (`extensions/v1beta1` Deployments are `apps` ones), else the apiVersion's group."""
    version = api_version if isinstance(api_version, str) else ""
    return None if kind in BUILTIN_KINDS and is_builtin(version) else version.rpartition("/")[0]


def generated_name(obj: Object) -> str:
    """How to name an object that has only `generateName`: its prefix and a star (`job/migrate-*`)."""
    prefix = dig(obj, "metadata", "generateName")
    return f"{prefix}*" if isinstance(prefix, str) and prefix else ""


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]…, or None where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


GENERIC_TEMPLATE_PATH = ("spec", "template")


def template_path(obj: Object) -> tuple[str, ...] | None:
    """Where obj keeps its pod template: the kind table's path, or spec.template for a custom workload.

    Custom workload kinds the table lacks (OpenKruise CloneSet, ...) follow the apps/v1 shape: a
    spec.selector and a spec.template with labels. Those are pod templates for selector matching.
    A custom kind in the table has its template where the table says, when it has one (an Argo
    Rollout may name a Deployment's instead: `workloadRef`).
    """
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion", "v1"))
    if known is not None and not known.custom:
        return known.template
    if known is not None and known.template and isinstance(dig(obj, *known.template), dict):
        return known.template
    spec = obj.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("selector"), dict) and \
            isinstance(dig(spec, "template", "metadata", "labels"), dict):
        return GENERIC_TEMPLATE_PATH
    return None


def is_workload(obj: Object) -> bool:
    return template_path(obj) is not None


def pod_template(obj: Object) -> Object | None:
    """The pod template of a workload (a Pod is its own template), or None for other kinds."""
    path = template_path(obj)
    if path is None:
        return None
    template = dig(obj, *path) if path else obj
    return template if isinstance(template, dict) else None


def template_labels(obj: Object) -> dict[str, str]:
    template = pod_template(obj) or {}
    labels = dig(template, "metadata", "labels") or {}
    return {str(key): str(value) for key, value in labels.items()} if isinstance(labels, dict) else {}


def template_labels_path(obj: Object) -> tuple[str, ...]:
    """Where the template's labels live (for file:line and for the JSON patch path)."""
    return (*(template_path(obj) or ()), "metadata", "labels")


def controller_labels(obj: Object) -> tuple[ControllerLabel, ...]:
    """Labels obj's controller adds to its pods (none for custom kinds the table lacks: their controllers are
    unknown)."""
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion", "v1"))
    return known.controller_labels if known is not None else ()


def containers(pod_spec_owner: Object) -> list[Object]:
    """The containers that serve traffic: regular ones plus native sidecars.

    A native sidecar is an init container with restartPolicy: Always (Kubernetes 1.29+); it runs
    beside the app, and Services resolve its named ports like any container's.
    """
    spec = dig(pod_spec_owner, "spec")
    regular = dig(spec, "containers")
    init = dig(spec, "initContainers")
    found = [c for c in regular if isinstance(c, dict)] if isinstance(regular, list) else []
    if isinstance(init, list):
        found += [c for c in init if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
    return found


def port_number(value: Any) -> int | None:
    """A port written as a number (an int, or ASCII digits), else None: a port name, or nonsense.

    `str.isdigit()` also accepts '²', which int() refuses; the API server takes only ASCII digits.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def container_ports(pod_or_template: Object) -> list[Object]:
    """Every port declared by a serving container (see `containers`)."""
    return [port for container in containers(pod_or_template) for port in (container.get("ports") or [])
            if isinstance(port, dict)]
