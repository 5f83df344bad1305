"""The live objects the watchers hold, indexed the way the checks look them up.

The engine (gate/verify/engine.py) feeds it watch events; the checks (gate/verify/checks.py) read it.
Each object is validated as it comes in (gate.schema.validate_live): a malformed one is held aside, and a
check that reads it cannot be made (MalformedObject, exit 3), while checks that do not read it go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gate.objects import Object, dig
from gate.schema import MalformedObject, validate_live

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
    # Objects that break the API's types, by bucket and name: why each is malformed.
    _malformed: dict[Bucket, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def put(self, kind: str, namespace: str | None, obj: Object) -> None:
        """Add or replace one object (by metadata.name); a malformed one is held as its error."""
        name = _name(obj)
        self.remove(kind, namespace, name)
        try:
            validate_live(obj, kind)
        except MalformedObject as malformed:
            self._malformed[(kind, namespace)][name] = str(malformed)
            return
        self.objects[(kind, namespace)][name] = obj
        for index, key in self._index_keys(kind, namespace, obj):
            index[key][name] = obj

    def remove(self, kind: str, namespace: str | None, name: str) -> None:
        self._malformed.get((kind, namespace), {}).pop(name, None)
        old = self.objects[(kind, namespace)].pop(name, None)
        if old is not None:
            for index, key in self._index_keys(kind, namespace, old):
                index[key].pop(name, None)
                if not index[key]:
                    del index[key]

    def replace_all(self, kind: str, namespace: str | None, objs: Iterable[Object]) -> None:
        """A fresh list of one kind in one namespace: everything held before is gone."""
        for name in [*self.objects[(kind, namespace)], *self._malformed.get((kind, namespace), {})]:
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

    def _readable(self, kind: str, namespace: str | None, name: str | None = None) -> None:
        """Raise MalformedObject if a read would include a malformed object: the named one, else any of the
        kind in the namespace (its owners or labels cannot be trusted to leave it out)."""
        malformed = self._malformed.get((kind, namespace))
        if malformed:
            why = malformed.get(name) if name is not None else next(iter(malformed.values()))
            if why is not None:
                raise MalformedObject(why)

    def of(self, kind: str, namespace: str | None) -> list[Object]:
        self._readable(kind, namespace)
        return list(self.objects.get((kind, namespace), {}).values())

    def get(self, kind: str, namespace: str | None, name: str) -> Object | None:
        self._readable(kind, namespace, name)
        return self.objects.get((kind, namespace), {}).get(name)

    def owned_by(self, kind: str, namespace: str | None, uid: str) -> list[Object]:
        self._readable(kind, namespace)
        return list(self._owned.get((kind, namespace, uid), {}).values())

    def slices_of(self, namespace: str | None, service: str) -> list[Object]:
        """The EndpointSlices the control plane keeps for one Service (by the service-name label)."""
        self._readable("EndpointSlice", namespace)
        return list(self._slices.get((namespace, service), {}).values())


def _name(obj: Object) -> str:
    name = dig(obj, "metadata", "name")
    return name if isinstance(name, str) else ""


def _owners(obj: Object) -> list[tuple[str, str]]:
    """(kind, name) of obj's owner references that say both; obj may not be validated yet (the engine asks
    before storing it)."""
    refs = dig(obj, "metadata", "ownerReferences")
    return [(ref["kind"], ref["name"]) for ref in refs if isinstance(ref, dict) and
            isinstance(ref.get("kind"), str) and isinstance(ref.get("name"), str)] if isinstance(refs, list) else []


def owner_chain(obj: Object, namespace: str | None, snapshot: Snapshot, depth: int = 3) -> list[Object]:
    """obj's owner, that owner's owner, … as far as the snapshot holds them (pod → ReplicaSet → Deployment)."""
    chain: list[Object] = []
    current: Object | None = obj
    while current is not None and len(chain) < depth:
        current = next((owner for kind, name in _owners(current)
                        if (owner := snapshot.get(kind, namespace, name)) is not None), None)
        if current is not None:
            chain.append(current)
    return chain
