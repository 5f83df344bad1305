"""A set of plain objects with the look-ups the checks need.

Built from manifests (lint, explain) or from the cluster (verify, explain
--live): the checks do not know which, except that manifests carry file:line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.kinds import may_create_pods
from gate.manifests import Manifest
from gate.netpol import Policy
from gate.objects import Object, ObjectRef, is_workload, ref_of, template_labels_path


@dataclass
class Inventory:
    objects: list[Object]
    default_namespace: str = "default"
    manifests: dict[ObjectRef, Manifest] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    duplicates: dict[ObjectRef, list[Manifest]] = field(default_factory=dict)  # refs defined more than once

    @classmethod
    def from_manifests(cls, manifests: Iterable[Manifest], default_namespace: str = "default") -> Inventory:
        manifests = list(manifests)
        by_ref: dict[ObjectRef, list[Manifest]] = {}
        for manifest in manifests:
            by_ref.setdefault(manifest.ref(default_namespace), []).append(manifest)
        # Like `kubectl apply`, the last definition of an object wins.
        inventory = cls([found[-1].obj for found in by_ref.values()], default_namespace,
                        {ref: found[-1] for ref, found in by_ref.items()},
                        duplicates={ref: found for ref, found in by_ref.items() if len(found) > 1})
        for obj in inventory.of_kind("Namespace"):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            inventory.namespace_labels[ref_of(obj).name] = {str(k): str(v) for k, v in labels.items()}
        return inventory

    def ref(self, obj: Object) -> ObjectRef:
        return ref_of(obj, self.default_namespace)

    def of_kind(self, *kinds: str) -> list[Object]:
        return [obj for obj in self.objects if obj.get("kind") in kinds]

    def workloads(self, namespace: str | None = None) -> list[Object]:
        return [obj for obj in self.objects if is_workload(obj)
                and (namespace is None or self.ref(obj).namespace == namespace)]

    def find(self, kind: str, name: str, namespace: str | None) -> list[Object]:
        """Objects of kind and name, in namespace (any namespace when None)."""
        return [obj for obj in self.of_kind(kind) if self.ref(obj).name == name
                and (namespace is None or self.ref(obj).namespace == namespace)]

    def policies(self) -> list[Policy]:
        return [Policy.from_object(obj, self.default_namespace) for obj in self.of_kind("NetworkPolicy")]

    def location(self, obj: Object, *path: str | int) -> str | None:
        """file:line of a field of obj, when obj came from a manifest."""
        manifest = self.manifests.get(self.ref(obj))
        return manifest.location(*path) if manifest else None

    def template_labels_location(self, workload: Object) -> str | None:
        return self.location(workload, *template_labels_path(workload))

    def pod_sources(self, namespace: str | None) -> list[ObjectRef]:
        """Custom resources of the namespace whose operators may create pods no template here shows."""
        return [self.ref(obj) for obj in self.objects if self.ref(obj).namespace == namespace
                and not is_workload(obj) and may_create_pods(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))]
