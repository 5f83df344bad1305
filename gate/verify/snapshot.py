"""The live objects the watchers hold, indexed the way the checks look them up.

The engine (gate/verify/engine.py) feeds it watch events; the checks (gate/verify/checks.py) read it.
Each object is validated as it comes in (gate.schema.validate_live): a malformed one is held aside, and a
check that reads it cannot be made (MalformedObject, exit 3), while checks that do not read it go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from gate.kinds import ENDPOINT_SLICE
from gate.objects import Object, ObjectRef, dig, kind_group
from gate.schema import MalformedObject, validate_live

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Bucket = tuple[str, str, str | None]  # (group, kind, namespace)


@cache
def bucket(kind: str, namespace: str | None, group: str | None = None) -> Bucket:
    """Where a kind's objects of one namespace are held: the group is part of the kind's identity (a Volcano
    `Job` is not batch's). Left out (None), it is the built-in kind's group, as in an ObjectRef."""
    return (ObjectRef(kind, namespace, "", group).group or "", kind, namespace)


@dataclass
class Snapshot:
    """Live objects by (group, kind, namespace): what the watchers hold right now.

    Every method takes the kind's group (None: the built-in kind's, `apps` for a Deployment in any apiVersion),
    so two kinds of one name in two groups never share a bucket: one's events would replace the other's objects.
    Indexed by owner and by Service the way the checks look objects up, so one
    evaluation of N rollouts costs O(their pods), not O(N x every pod), which
    at a thousand Deployments was most of the CPU taken from the control plane
    rolling out (figures: bench/README.md).
    """

    objects: dict[Bucket, dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))
    _owned: dict[tuple[Bucket, str], dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))
    _slices: dict[tuple[str | None, str], dict[str, Object]] = field(default_factory=lambda: defaultdict(dict))
    # Objects that break the API's types, by bucket and name: why each is malformed.
    _malformed: dict[Bucket, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def put(self, kind: str, namespace: str | None, obj: Object, group: str | None = None) -> None:
        """Add or replace one object (by metadata.name); a malformed one is held as its error."""
        where = bucket(kind, namespace, group)
        name = _name(obj)
        self._remove(where, name)
        try:
            validate_live(obj, kind)
        except MalformedObject as malformed:
            self._malformed[where][name] = str(malformed)
            return
        self.objects[where][name] = obj
        for index, key in self._index_keys(where, obj):
            index[key][name] = obj

    def remove(self, kind: str, namespace: str | None, name: str, group: str | None = None) -> None:
        self._remove(bucket(kind, namespace, group), name)

    def _remove(self, where: Bucket, name: str) -> None:
        self._malformed.get(where, {}).pop(name, None)
        old = self.objects[where].pop(name, None)
        if old is not None:
            for index, key in self._index_keys(where, old):
                index[key].pop(name, None)
                if not index[key]:
                    del index[key]

    def replace_all(self, kind: str, namespace: str | None, objs: Iterable[Object], group: str | None = None) -> None:
        """A fresh list of one kind in one namespace: everything held before is gone."""
        where = bucket(kind, namespace, group)
        for name in [*self.objects[where], *self._malformed.get(where, {})]:
            self._remove(where, name)
        for obj in objs:
            self.put(kind, namespace, obj, where[0])

    def _index_keys(self, where: Bucket, obj: Object) -> list[tuple[dict, Any]]:
        keys: list[tuple[dict, Any]] = [(self._owned, (where, ref.get("uid")))
                                        for ref in dig(obj, "metadata", "ownerReferences") or [] if ref.get("uid")]
        service = dig(obj, "metadata", "labels", SERVICE_NAME_LABEL) if where[:2] == ENDPOINT_SLICE else None
        if service:
            keys.append((self._slices, (where[2], service)))
        return keys

    def _readable(self, where: Bucket, name: str | None = None) -> None:
        """Raise MalformedObject if a read would include a malformed object: the named one, else any of the
        kind in the namespace (its owners or labels cannot be trusted to leave it out)."""
        malformed = self._malformed.get(where)
        if malformed:
            why = malformed.get(name) if name is not None else next(iter(malformed.values()))
            if why is not None:
                raise MalformedObject(why)

    def of(self, kind: str, namespace: str | None, group: str | None = None) -> list[Object]:
        where = bucket(kind, namespace, group)
        self._readable(where)
        return list(self.objects.get(where, {}).values())

    def get(self, kind: str, namespace: str | None, name: str, group: str | None = None) -> Object | None:
        where = bucket(kind, namespace, group)
        self._readable(where, name)
        return self.objects.get(where, {}).get(name)

    def owned_by(self, kind: str, namespace: str | None, uid: str, group: str | None = None) -> list[Object]:
        where = bucket(kind, namespace, group)
        self._readable(where)
        return list(self._owned.get((where, uid), {}).values())

    def slices_of(self, namespace: str | None, service: str) -> list[Object]:
        """The EndpointSlices the control plane keeps for one Service (by the service-name label)."""
        self._readable((*ENDPOINT_SLICE, namespace))
        return list(self._slices.get((namespace, service), {}).values())


def _name(obj: Object) -> str:
    name = dig(obj, "metadata", "name")
    return name if isinstance(name, str) else ""


def _owners(obj: Object) -> list[tuple[str, str, str | None]]:
    """(kind, name, group) of obj's owner references that say kind and name, the group from their apiVersion (a
    Volcano Job's pods are not a batch Job's); obj may not be validated yet (the engine asks before storing it)."""
    refs = dig(obj, "metadata", "ownerReferences")
    return [(ref["kind"], ref["name"], kind_group(ref["kind"], ref.get("apiVersion"))) for ref in refs
            if isinstance(ref, dict) and isinstance(ref.get("kind"), str) and isinstance(ref.get("name"), str)
            ] if isinstance(refs, list) else []


def owner_chain(obj: Object, namespace: str | None, snapshot: Snapshot, depth: int = 3) -> list[Object]:
    """obj's owner, that owner's owner, … as far as the snapshot holds them (pod → ReplicaSet → Deployment)."""
    chain: list[Object] = []
    current: Object | None = obj
    while current is not None and len(chain) < depth:
        current = next((owner for kind, name, group in _owners(current)
                        if (owner := snapshot.get(kind, namespace, name, group)) is not None), None)
        if current is not None:
            chain.append(current)
    return chain
