"""Load the touched objects from files, directories, stdin, kustomize or `kubectl apply -o` output.

Every object keeps its file and the line of every field, so a finding can say
"examples/.../deployment.yaml:14" for the exact template labels it is about.
"""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ManifestError
from gate.kinds import api_group, kind_named, unknown_kind_problem
from gate.objects import Object, ObjectRef, ref_of

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_FILE_NAME = "gate.yaml"
STDIN = "-"
Path_ = tuple[str | int, ...]


@dataclass
class Manifest:
    """One object from a manifest, with where each of its fields was written.

    The YAML node tree is kept and searched only for the few fields a finding
    points at: walking every node of thousands of objects up front costs more
    than all the look-ups of a run.
    """

    obj: Object
    file: str
    line: int
    node: yaml.Node | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    def ref(self, default_namespace: str = "default") -> ObjectRef:
        return ref_of(self.obj, default_namespace)

    def line_of(self, *path: str | int) -> int:
        """Line of the deepest existing prefix of path (the object's first line at worst)."""
        return node_line(self.node, path, self.line)

    def location(self, *path: str | int) -> str:
        return f"{self.file}:{self.line_of(*path)}"


@dataclass
class ManifestSet:
    """Everything read: the objects and, when a directory had one, its gate.yaml."""

    manifests: list[Manifest] = field(default_factory=list)
    config_file: Path | None = None
    skipped_files: list[str] = field(default_factory=list)  # YAML in directories that holds no Kubernetes object

    def drop_node_trees(self) -> None:
        """Free the YAML node trees once every needed line is looked up (28 MB for 2,000 objects).

        Later look-ups answer the object's first line.
        """
        for manifest in self.manifests:
            manifest.node = None


def _walk(node: yaml.Node | None, path: Path_) -> Iterator[tuple[int, yaml.Node]]:
    """(line, node) for each step of path that exists; the line of a mapping key, or of a list item."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if k.value == step), None)
            if entry is None:
                return
            node = entry[1]
            yield entry[0].start_mark.line + 1, node
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            yield node.start_mark.line + 1, node
        else:
            return


def node_line(node: yaml.Node | None, path: Path_, default: int) -> int:
    """The line of the deepest step of path that exists (default when none does)."""
    steps = list(_walk(node, path))
    return steps[-1][0] if steps else default


# libyaml's parser when PyYAML has it: several times faster on thousands of objects, same nodes and marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{name}" for name in ("str", "map", "seq"))
_MERGE = "tag:yaml.org,2002:merge"


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that rejects duplicate keys, as the API server's strict decoding does.

    Plain maps, lists and strings, nearly all of a manifest, are built by a
    direct walk of the nodes: five times faster than the general constructor,
    which still builds every other tag (numbers, booleans, merge keys, cycles).
    """

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return self._construct_plain(node)
        except RecursionError:  # an alias to an ancestor: only the general constructor builds cycles
            return super().construct_document(node)

    def _construct_plain(self, node: yaml.Node) -> Any:
        kind = node.__class__
        if kind is yaml.ScalarNode and node.tag == _STR:
            return node.value
        if kind is yaml.SequenceNode and node.tag == _SEQ:
            return [self._construct_plain(item) for item in node.value]
        if kind is not yaml.MappingNode or node.tag != _MAP or any(k.tag == _MERGE for k, _ in node.value):
            return self.construct_object(node, deep=True)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is yaml.ScalarNode and key_node.tag == _STR:
                key = key_node.value
            else:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                            "found unhashable key", key_node.start_mark)
            if key in mapping:
                raise self._duplicate_key(key, key_node, node)
            mapping[key] = self._construct_plain(value_node)
        return mapping

    def _duplicate_key(self, key: Any, key_node: yaml.Node, node: yaml.MappingNode) -> yaml.YAMLError:
        first = next(k for k, _ in node.value if k.tag != _MERGE and self.construct_object(k, deep=True) == key)
        return yaml.constructor.ConstructorError(
            None, None, f"duplicate key {key!r} (first at line {first.start_mark.line + 1})", key_node.start_mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:  # merged keys may be overridden; only the written ones must be unique
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise self._duplicate_key(key, key_node, node)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_documents(text: str, file: str) -> list[tuple[Any, int, yaml.Node]]:
    """(data, first line, node tree) for every non-empty YAML/JSON document."""
    loader = _StrictLoader(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            documents.append((data, node.start_mark.line + 1, node))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ManifestError(f"{file}{line}: invalid YAML: {problem}") from error
    finally:
        loader.dispose()
    return documents


def _objects(data: Any, line: int, node: yaml.Node | None, file: str) -> Iterable[Manifest]:
    """Objects of one document; `List` kinds (v1 List, *List) expand to their items."""
    if not isinstance(data, dict):
        raise ManifestError(f"{file}:{line}: expected a Kubernetes object (a mapping), found {type(data).__name__}")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            steps = list(_walk(node, ("items", index)))
            item_line, item_node = steps[-1] if len(steps) == 2 else (line, None)
            yield from _objects(item, item_line, item_node, file)
        return
    yield Manifest(data, file, line, node)


def _validate(manifest: Manifest, crd_kinds: set[tuple[str, str]]) -> None:
    obj, where = manifest.obj, f"{manifest.file}:{manifest.line}"
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj.get(key):
            raise ManifestError(f"{where}: missing {key}; not a Kubernetes object")
    if problem := unknown_kind_problem(obj["apiVersion"], obj["kind"], crd_kinds):
        raise ManifestError(f"{manifest.location('kind')}: {problem}")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if not isinstance(metadata.get("name") or metadata.get("generateName"), str):
        raise ManifestError(f"{manifest.location('metadata')}: {obj['kind']} has no metadata.name")


def _crd_kinds(manifests: list[Manifest]) -> set[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in the set."""
    kinds = set()
    for manifest in manifests:
        if manifest.kind == "CustomResourceDefinition" and api_group(str(manifest.obj.get("apiVersion"))) == \
                "apiextensions.k8s.io":
            spec = manifest.obj.get("spec") or {}
            kinds.add((str(spec.get("group")), str((spec.get("names") or {}).get("kind"))))
    return kinds


def _read(path: Path | str) -> str:
    if str(path) == STDIN:
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path}: not a text file ({error.reason})") from error
    except OSError as error:
        raise ManifestError(f"{path}: cannot read: {error.strerror}") from error


def _looks_like_kubernetes(documents: list[tuple[Any, int, yaml.Node]]) -> bool:
    return any(isinstance(data, dict) and "apiVersion" in data and "kind" in data for data, _, _ in documents)


def _directory_files(directory: Path) -> list[Path]:
    files = [p for p in directory.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file()]
    return sorted(p for p in files if p != directory / CONFIG_FILE_NAME)


def load(paths: Iterable[str], kustomize_dirs: Iterable[str] = ()) -> ManifestSet:
    """Read and validate every path and kustomization (see `_load`).

    The cyclic garbage collector is paused meanwhile, and what was loaded is
    frozen out of its later scans: thousands of objects and their node trees
    live for the whole run, so scanning them found nothing and cost a third of
    the parse time, then 0.2 s more in the first full collection afterwards.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        loaded = _load(paths, kustomize_dirs)
        gc.freeze()
        return loaded
    finally:
        if collecting:
            gc.enable()


def _load(paths: Iterable[str], kustomize_dirs: Iterable[str] = ()) -> ManifestSet:
    """Read every path (file, directory, or '-' for stdin) and kustomization; validate the objects.

    In a directory, YAML files holding no Kubernetes object (CI workflows, Helm
    values) are skipped and listed, a `kustomization.yaml` is build input, not an
    object, and `gate.yaml` at the directory's root is the config.
    """
    result = ManifestSet()
    for raw in paths:
        path = Path(raw)
        if raw != STDIN and not path.exists():
            raise ManifestError(f"{raw}: no such file or directory")
        if raw != STDIN and path.is_dir():
            if (path / CONFIG_FILE_NAME).is_file() and result.config_file is None:
                result.config_file = path / CONFIG_FILE_NAME
            for file in _directory_files(path):
                if file.name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
                    continue
                documents = parse_documents(_read(file), str(file))
                if documents and not _looks_like_kubernetes(documents):
                    result.skipped_files.append(str(file))
                    continue
                for data, line, node in documents:
                    result.manifests.extend(_objects(data, line, node, str(file)))
            continue
        name = "<stdin>" if raw == STDIN else raw
        for data, line, node in parse_documents(_read(raw), name):
            result.manifests.extend(_objects(data, line, node, name))
    for directory in kustomize_dirs:
        result.manifests.extend(_kustomize(directory))
    crd_kinds = _crd_kinds(result.manifests)
    for manifest in result.manifests:
        _validate(manifest, crd_kinds)
    return result


def _kustomize(directory: str) -> list[Manifest]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError(f"{directory}: -k needs kubectl on PATH (it renders the kustomization)")
    rendered = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True)
    if rendered.returncode != 0:
        message = rendered.stderr.strip().splitlines()[-1] if rendered.stderr.strip() else "failed"
        raise ManifestError(f"{directory}: kubectl kustomize: {message}")
    name = f"{directory} (kustomize)"
    return [m for data, line, node in parse_documents(rendered.stdout, name)
            for m in _objects(data, line, node, name)]


def refs_from_apply_output(text: str, default_namespace: str) -> list[ObjectRef] | ManifestSet:
    """`kubectl apply -o name` lines (kind.group/name) or `-o yaml|json` objects.

    -o name carries no namespace: the namespace of the run applies, as it did for kubectl.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and all("/" in line and " " not in line and ":" not in line for line in lines):
        refs = []
        for line in lines:
            kind_group, name = line.split("/", 1)
            kind = kind_named(kind_group) or kind_group.split(".", 1)[0]
            refs.append(ObjectRef(kind, default_namespace, name))
        return refs
    result = ManifestSet()
    for data, line, node in parse_documents(text, "<apply output>"):
        result.manifests.extend(_objects(data, line, node, "<apply output>"))
    return result

