"""Objects from documents, each held to the schema of its kind before any rule sees it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from gate import schema
from gate.errors import ManifestError
from gate.kinds import BUILTIN_KINDS, api_group, unknown_kind_problem
from gate.location import Location
from gate.manifests.positions import Manifest, line_tree, node_line, walk
from gate.objects import dotted

# Payloads no check reads, dropped once an object is validated: most of a set of many small
# ConfigMaps' memory, and secrets are better not held at all.
PAYLOADS = {name: spec.payload for name, spec in BUILTIN_KINDS.items() if spec.payload}


def objects(data: Any, line: int, node: yaml.Node | None, file: str) -> Iterable[Manifest]:
    """Objects of one document; `List` kinds (v1 List, *List) expand to their items."""
    if not isinstance(data, dict):
        raise ManifestError.at(Location(file, line), f"expected a Kubernetes object (a mapping), found "
                                                f"{type(data).__name__}")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in data:
        items = data["items"] if data["items"] is not None else []
        if not isinstance(items, list):
            got = schema.describe(items, None)
            raise ManifestError.at(Location(file, node_line(node, ("items",), line)),
                                   f"items: expected a list of objects, got {got}")
        for index, item in enumerate(items):
            steps = list(walk(node, ("items", index)))
            item_line, item_node = steps[-1] if len(steps) == 2 else (line, None)
            yield from objects(item, item_line, item_node, file)
        return
    yield _checked(Manifest(data, file, line, node))


def _checked(manifest: Manifest) -> Manifest:
    """Identity and every field the checks read (gate.schema), as the API server would reject them.

    Then the node tree gives way to the line tree: all of it, but only the
    top-level keys of ConfigMaps and Secrets, whose payloads no finding points into.
    """
    obj, where = manifest.obj, manifest.location()
    for key in ("apiVersion", "kind"):
        if obj.get(key) is None or obj.get(key) == "":
            raise ManifestError.at(where, f"missing {key}; not a Kubernetes object")
    if manifest.node is not None:
        manifest.lines = line_tree(manifest.node) if manifest.kind not in PAYLOADS else \
            {key.value: key.start_mark.line + 1 for key, _ in getattr(manifest.node, "value", ())}
    try:
        schema.check(obj, manifest.written)
    except schema.Invalid as invalid:
        raise ManifestError.at(manifest.location(*invalid.path), f"{dotted(invalid.path)}: "
                                                                 f"{invalid.message}") from None
    manifest.node = None
    for payload in PAYLOADS.get(manifest.kind, ()):
        obj.pop(payload, None)
    return manifest


def check_kinds(manifests: list[Manifest]) -> None:
    """Kinds the cluster cannot serve (given the set's own CRDs), and objects without a name."""
    crd_kinds = _crd_kinds(manifests)
    for manifest in manifests:
        _check_kind(manifest, crd_kinds)


def _check_kind(manifest: Manifest, crd_kinds: set[tuple[str, str]]) -> None:
    obj = manifest.obj
    if problem := unknown_kind_problem(obj["apiVersion"], obj["kind"], crd_kinds):
        raise ManifestError.at(manifest.location('kind'), problem)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if not isinstance(metadata.get("name") or metadata.get("generateName"), str):
        raise ManifestError.at(manifest.location('metadata'), f"{obj['kind']} has no metadata.name")


def _crd_kinds(manifests: list[Manifest]) -> set[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in the set."""
    kinds = set()
    for manifest in manifests:
        if manifest.kind == "CustomResourceDefinition" and api_group(str(manifest.obj.get("apiVersion"))) == \
                "apiextensions.k8s.io":
            spec = manifest.obj.get("spec")
            names = spec.get("names") if isinstance(spec, dict) else None
            if isinstance(names, dict):
                kinds.add((str(spec.get("group")), str(names.get("kind"))))
    return kinds

