"""A set of plain objects with the look-ups the checks need.

Built from manifests (lint, explain) or from the cluster (verify, explain
--live): the checks do not know which, except that manifests carry file:line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.kinds import CONTROLLER_LABEL_KEYS, may_create_pods, may_create_pods_with, spec_for
from gate.labels import PodLabels, Selector
from gate.location import Location
from gate.manifests import Manifest
from gate.netpol import Policy
from gate.objects import Object, ObjectRef, dig, is_workload, ref_of, template_labels_path


@dataclass
class Inventory:
    """The objects, indexed by kind, by (kind, namespace) and by (kind, namespace, name).

    Every rule asks for the workloads of one namespace or one object by name, once
    per Service or policy; scanning every object each time made lint quadratic
    (5,000 Deployments with a Service each: 340 s). The indexes are built once,
    on first use, and keep the set's order, so findings come out as before.
    """

    objects: list[Object]
    default_namespace: str = "default"
    manifests: dict[int, Manifest] = field(default_factory=dict)  # by id() of each object: where it was written
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    duplicates: dict[ObjectRef, list[Manifest]] = field(default_factory=dict)  # refs defined more than once
    _index: _Index | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_manifests(cls, manifests: Iterable[Manifest], default_namespace: str = "default") -> Inventory:
        manifests = list(manifests)
        by_ref: dict[ObjectRef | int, list[Manifest]] = {}
        for position, manifest in enumerate(manifests):
            ref = manifest.ref(default_namespace)
            # Each `generateName` object is a new one (`kubectl create` names it), never a duplicate.
            by_ref.setdefault(position if ref.name.endswith("*") else ref, []).append(manifest)
        # Like `kubectl apply`, the last definition of an object wins.
        inventory = cls([found[-1].obj for found in by_ref.values()], default_namespace,
                        {id(found[-1].obj): found[-1] for found in by_ref.values()},
                        duplicates={ref: found for ref, found in by_ref.items()
                                    if isinstance(ref, ObjectRef) and len(found) > 1})
        for obj in inventory.of_kind("Namespace"):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            inventory.namespace_labels[ref_of(obj).name] = {str(k): str(v) for k, v in labels.items()}
        return inventory

    @property
    def index(self) -> _Index:
        if self._index is None or self._index.size != len(self.objects):
            self._index = _Index(self.objects, self.default_namespace)
        return self._index

    def ref(self, obj: Object) -> ObjectRef:
        """obj's identity (computed once per object of the set: every rule asks for it)."""
        known = self.index.refs.get(id(obj))
        return known if known is not None else ref_of(obj, self.default_namespace)

    def of_kind(self, *kinds: str) -> list[Object]:
        if len(kinds) == 1:
            return list(self.index.by_kind.get(kinds[0], ()))
        return self.index.in_order(obj for kind in set(kinds) for obj in self.index.by_kind.get(kind, ()))

    def workloads(self, namespace: str | None = None) -> list[Object]:
        if namespace is None:
            return list(self.index.all_workloads)
        return list(self.index.workloads.get(namespace, ()))

    def find(self, kind: str, name: str, namespace: str | None) -> list[Object]:
        """Objects of kind and name, in namespace (any namespace when None)."""
        return list(self.index.by_name.get((kind, name), {}).get(namespace, ())) if namespace is not None else \
            self.index.in_order(obj for found in self.index.by_name.get((kind, name), {}).values() for obj in found)

    def policies(self) -> list[Policy]:
        index = self.index
        if index.policies is None:
            index.policies = [Policy.from_object(obj, self.default_namespace) for obj in self.of_kind("NetworkPolicy")]
        return list(index.policies)

    def location(self, obj: Object, *path: str | int) -> Location | None:
        """Where a field of obj was written, when obj came from a manifest."""
        manifest = self.manifests.get(id(obj))
        return manifest.location(*path) if manifest else None

    def template_labels_location(self, workload: Object) -> Location | None:
        return self.location(workload, *template_labels_path(workload))

    def selected(self, selector: Selector, namespace: str | None) -> list[Object]:
        """The workloads of the namespace whose pods the selector may select (controller-added labels count).

        Narrowed first through a label index by the selector's key=value requirements on labels templates
        carry: a Service per Deployment stays linear in the set's size (10,000 of each).
        """
        index = self.index
        narrowed: set[int] | None = None
        for requirement in selector.requirements:
            if requirement.operator == "In" and len(requirement.values) == 1 and \
                    requirement.key not in CONTROLLER_LABEL_KEYS:
                found = index.by_label.get((namespace, requirement.key, requirement.values[0]), set())
                narrowed = found if narrowed is None else narrowed & found
        pool = index.workloads.get(namespace, [])
        if narrowed is not None:
            pool = index.in_order(index.objects[position] for position in narrowed)
        return [w for w in pool if selector.may_match(index.pods(w))]

    def names(self, kind: str, namespace: str | None) -> list[str]:
        """The names of the set's objects of one kind in one namespace, in the set's order."""
        return list(self.index.names.get((kind, namespace), ()))

    def pod_sources(self, namespace: str | None, selector: Selector | None = None) -> list[ObjectRef]:
        """Custom resources of the namespace whose operators may create pods no template here shows.

        With a selector: only those whose pods could carry a label it asks for (a Gateway's provisioned pods
        carry its implementation's labels, not an application's).
        """
        sources = self.index.pod_sources.get(namespace, ())
        if selector is not None:
            keys = {requirement.key for requirement in selector.requirements}
            sources = [obj for obj in sources if may_create_pods_with(
                str(obj.get("apiVersion", "")), str(obj.get("kind", "")), keys, copied_label_keys(obj))]
        return [self.ref(obj) for obj in sources]


def copied_label_keys(obj: Object) -> set[str]:
    """The label keys a custom resource asks the pods provisioned for it to carry (see `ProvisionedPods`)."""
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion"))
    fields = known.provisioned.copied if known and known.provisioned else ()
    return {str(key) for path in fields if isinstance(labels := dig(obj, *path), dict) for key in labels}


class _Index:
    """Positions and groupings of one list of objects (rebuilt if the list grows)."""

    def __init__(self, objects: list[Object], default_namespace: str) -> None:
        self.size = len(objects)
        self.objects = objects
        self.position = {id(obj): i for i, obj in enumerate(objects)}
        self.by_label: dict[tuple[str | None, str, str], set[int]] = {}  # (namespace, key, value) -> positions
        self._pods: dict[int, PodLabels] = {}
        self.by_kind: dict[str, list[Object]] = {}
        self.by_name: dict[tuple[str, str], dict[str | None, list[Object]]] = {}
        self.names: dict[tuple[str, str | None], list[str]] = {}
        self.all_workloads: list[Object] = []
        self.workloads: dict[str | None, list[Object]] = {}
        self.pod_sources: dict[str | None, list[Object]] = {}
        self.policies: list[Policy] | None = None
        self.refs: dict[int, ObjectRef] = {}
        for obj in objects:
            ref = self.refs[id(obj)] = ref_of(obj, default_namespace)
            self.by_kind.setdefault(ref.kind, []).append(obj)
            self.by_name.setdefault((ref.kind, ref.name), {}).setdefault(ref.namespace, []).append(obj)
            self.names.setdefault((ref.kind, ref.namespace), []).append(ref.name)
            if is_workload(obj):
                self.all_workloads.append(obj)
                self.workloads.setdefault(ref.namespace, []).append(obj)
                for key, value in self.pods(obj).labels.items():
                    self.by_label.setdefault((ref.namespace, key, value), set()).add(self.position[id(obj)])
            elif may_create_pods(str(obj.get("apiVersion", "")), ref.kind):
                self.pod_sources.setdefault(ref.namespace, []).append(obj)

    def pods(self, workload: Object) -> PodLabels:
        found = self._pods.get(id(workload))
        if found is None:
            found = self._pods[id(workload)] = PodLabels.of_template(workload)
        return found

    def in_order(self, objects: Iterable[Object]) -> list[Object]:
        return sorted(objects, key=lambda obj: self.position[id(obj)])
