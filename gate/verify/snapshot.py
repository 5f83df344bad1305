"""The live objects the watchers hold, indexed the way the checks look them up.

The engine (gate/verify/engine.py) feeds it watch events; the checks (gate/verify/checks.py) read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gate.objects import Object, dig

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Bucket = tuple[str, str | None]  # (kind, namespace)


@dataclass
class Snapshot:
    """Live objects by (kind, namespace): what the watchers hold right now.

    Indexed by owner and by Service the way the checks look objects up, so one
    evaluation of N rollouts costs O(their pods), not O(N x every pod), which
    at a thousand Deployments was most of the CPU taken from the control plane
    rolling out (figures: bench/README.md).
    """

    objects: dict[Bucket, dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))
    _owned: dict[tuple[str, str | None, str], dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))
    _slices: dict[tuple[str | None, str], dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))

    def put(self, kind: str, namespace: str | None, obj: Object) -> None:
        """Add or replace one object (by metadata.name)."""
        name = dig(obj, "metadata", "name") or ""
        self.remove(kind, namespace, name)
        self.objects[(kind, namespace)][name] = obj
        for index, key in self._index_keys(kind, namespace, obj):
            index[key][name] = obj

    def remove(self, kind: str, namespace: str | None, name: str) -> None:
        old = self.objects[(kind, namespace)].pop(name, None)
        if old is not None:
            for index, key in self._index_keys(kind, namespace, old):
                index[key].pop(name, None)
                if not index[key]:
                    del index[key]

    def replace_all(self, kind: str, namespace: str | None, objs: Iterable[Object]) -> None:
        """A fresh list of one kind in one namespace: everything held before is gone."""
        for name in list(self.objects[(kind, namespace)]):
            self.remove(kind, namespace, name)
        for obj in objs:
            self.put(kind, namespace, obj)

    def _index_keys(self, kind: str, namespace: str | None, obj: Object) -> list[tuple[dict, Any]]:
        keys: list[tuple[dict, Any]] = [(self._owned, (kind, namespace, ref.get("uid")))
                                        for ref in dig(obj, "metadata", "ownerReferences") or [] if ref.get("uid")]
        service = dig(obj, "metadata", "labels", SERVICE_NAME_LABEL) if kind == "EndpointSlice" else None
        if service:
            keys.append((self._slices, (namespace, service)))
        return keys

    def of(self, kind: str, namespace: str | None) -> list[Object]:
        return list(self.objects.get((kind, namespace), {}).values())

    def get(self, kind: str, namespace: str | None, name: str) -> Object | None:
        return self.objects.get((kind, namespace), {}).get(name)

    def owned_by(self, kind: str, namespace: str | None, uid: str) -> list[Object]:
        return list(self._owned.get((kind, namespace, uid), {}).values())

    def slices_of(self, namespace: str | None, service: str) -> list[Object]:
        """The EndpointSlices the control plane keeps for one Service (by the service-name label)."""
        return list(self._slices.get((namespace, service), {}).values())


def owner_chain(obj: Object, namespace: str | None, snapshot: Snapshot, depth: int = 3) -> list[Object]:
    """obj's owner, that owner's owner, … as far as the snapshot holds them (pod → ReplicaSet → Deployment)."""
    chain: list[Object] = []
    current: Object | None = obj
    while current is not None and len(chain) < depth:
        current = next((owner for ref in dig(current, "metadata", "ownerReferences") or []
                        if (owner := snapshot.get(ref.get("kind", ""), namespace, ref.get("name", ""))) is not None),
                       None)
        if current is not None:
            chain.append(current)
    return chain
