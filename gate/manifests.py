"""Load the touched objects from files, directories, stdin, kustomize or `kubectl apply -o` output.

Every object keeps its file and the line of every field, so a finding can say
"examples/.../deployment.yaml:14" for the exact template labels it is about.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate import schema
from gate.errors import ManifestError, UsageError
from gate.kinds import BUILTIN_KINDS, api_group, is_builtin, kind_named, unknown_kind_problem
from gate.objects import Object, ObjectRef, dig, ref_of

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_FILE_NAME = "gate.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# An alias may repeat what it names (a merge key, a shared list), but a document may not expand to more
# than this many times what it writes, counted in nodes plus scalar characters: 9 levels of 9 references
# is 387 million nodes, and one 100 kB string aliased 200 times is 20 million characters.
ALIAS_EXPANSION = 10
ALIAS_EXPANSION_FLOOR = 100_000
# The largest input file read (bytes). Memory is at most ~70 times it (many tiny objects; 16 MiB: ~1.1 GB),
# and the largest public install bundles are a few MiB. The variable raises or lowers it.
MAX_FILE_BYTES_VARIABLE = "DEPLOY_GATE_MAX_FILE_BYTES"
DEFAULT_MAX_FILE_BYTES = 16 * 2 ** 20
# Directories deeper than this below a given PATH are refused: no manifest tree is, and the walk stays bounded.
MAX_DIRECTORY_DEPTH = 100
# Payloads no check reads, dropped once an object is validated: most of a set of many small
# ConfigMaps' memory, and secrets are better not held at all.
PAYLOADS = {name: spec.payload for name, spec in BUILTIN_KINDS.items() if spec.payload}
STDIN = "-"
Path_ = tuple[str | int, ...]


# Where each field of an object was written, compactly: a mapping's key → its line (a scalar) or
# (line, the value's tree); a list the same per item. A tenth of the memory of the YAML nodes.
LineTree = dict[Any, Any] | list[Any]


@dataclass(slots=True)
class Manifest:
    """One object from a manifest, with the line of each of its fields.

    `node`, the YAML node tree, lives only while the object is validated (error
    messages quote values as written); `lines` stays for the findings' file:line.
    """

    obj: Object
    file: str
    line: int
    node: yaml.Node | None = field(default=None, repr=False)
    lines: LineTree | None = field(default=None, repr=False)
    released: bool = field(default=False, repr=False)  # lines freed: a later look-up is a bug, not line 1

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    def ref(self, default_namespace: str = "default") -> ObjectRef:
        return ref_of(self.obj, default_namespace)

    def line_of(self, *path: str | int) -> int:
        """Line of the deepest existing prefix of path (the object's first line at worst)."""
        if self.released:
            raise RuntimeError(f"{self.file}:{self.line}: line look-up after the line trees were released")
        line, tree = self.line, self.lines
        for step in path:
            found = (isinstance(tree, dict) and step in tree) or \
                (isinstance(tree, list) and isinstance(step, int) and 0 <= step < len(tree))
            if not found:
                break
            entry = tree[step]  # type: ignore[index]
            line, tree = entry if isinstance(entry, tuple) else (entry, None)
        return line

    def location(self, *path: str | int) -> str:
        return f"{self.file}:{self.line_of(*path)}"

    def written(self, path: Path_) -> str | None:
        """The scalar at path as written in the file (`yes`, not True), for messages."""
        steps = list(_walk(self.node, path))
        if len(steps) == len(path) and steps and isinstance(steps[-1][1], yaml.ScalarNode):
            return str(steps[-1][1].value)
        return None


def line_tree(node: yaml.Node, shared: dict[int, LineTree] | None = None) -> LineTree | None:
    """The LineTree of a node (None for a scalar); an aliased node's tree is built once and shared.

    Scalars, most of a manifest, are stored inline without a call: this walk
    runs over every node of every object.
    """
    shared = {} if shared is None else shared
    if id(node) in shared:
        return shared[id(node)]
    scalar = yaml.ScalarNode
    tree: LineTree
    if node.__class__ is yaml.MappingNode:
        tree = {key.value: key.start_mark.line + 1 if value.__class__ is scalar else
                (key.start_mark.line + 1, line_tree(value, shared)) for key, value in node.value}
    elif node.__class__ is yaml.SequenceNode:
        tree = [item.start_mark.line + 1 if item.__class__ is scalar else
                (item.start_mark.line + 1, line_tree(item, shared)) for item in node.value]
    else:
        return None
    shared[id(node)] = tree
    return tree


@dataclass
class ManifestSet:
    """Everything read: the objects and, when a directory had one, its gate.yaml."""

    manifests: list[Manifest] = field(default_factory=list)
    config_file: Path | None = None
    skipped_files: dict[str, str] = field(default_factory=dict)  # a directory's non-Kubernetes file: why skipped

    def release_lines(self) -> None:
        """Free the line trees once every line a finding can name is looked up (verify, before it watches)."""
        for manifest in self.manifests:
            manifest.lines, manifest.released = None, True


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
_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP = (f"tag:yaml.org,2002:{name}" for name in
                                          ("int", "float", "bool", "null", "timestamp"))
_MERGE = "tag:yaml.org,2002:merge"

# How kubectl's decoder (sigs.k8s.io/yaml over its go-yaml v2 fork, resolve.go) reads a plain scalar, which
# is not PyYAML's YAML 1.1: `y`/`n` are booleans too, `0o17` and `1e3` are numbers, `2:14:20` (base 60) is
# text, a timestamp stays its text, and a number too large for 64 bits (or a float) is text.
_GO_WORDS: dict[str, tuple[str, Any]] = {
    **{word: (_BOOL, True) for word in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]},
    **{word: (_BOOL, False) for word in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]},
    **{word: (_NULL, None) for word in ("", "~", "null", "Null", "NULL")},
    **{word: (_FLOAT, math.nan) for word in (".nan", ".NaN", ".NAN")},
    **{word: (_FLOAT, math.inf) for word in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{word: (_FLOAT, -math.inf) for word in ("-.inf", "-.Inf", "-.INF")},
    "<<": (_MERGE, "<<"),
}
_GO_HINTED = frozenset("+-0123456789.")  # resolve.go's table: only these first characters can start a number
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?"
                           r"([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?")
_INT64, _UINT64 = 2 ** 63, 2 ** 64


def _go_number(text: str) -> tuple[str, Any] | None:
    """(tag, value) of a plain scalar go-yaml v2 reads as a number (Go's ParseInt/ParseUint base 0, then
    ParseFloat), or None: it is text. Never int() of more digits than 64 bits can hold."""
    if text in _GO_WORDS:
        return _GO_WORDS[text]
    if not text or text[0] not in _GO_HINTED:
        return None
    plain = text.replace("_", "")
    if text[0] != "." and len(plain) <= 70 and _GO_INT.fullmatch(plain):
        digits = plain.lstrip("+-")
        base = {"x": 16, "o": 8, "b": 2}.get(digits[1:2].lower(), 8) if digits[:1] == "0" and len(digits) > 1 \
            else 10
        value = int(digits[2:] if base != 8 or digits[1:2] in "oO" else digits, base) if base != 10 else int(digits)
        value = -value if plain[0] == "-" else value
        if -_INT64 <= value < _UINT64:
            return _INT, value
    if _GO_FLOAT.fullmatch(plain if text[0] != "." else text):
        value = float(plain)
        if math.isfinite(value):  # JSON, which kubectl sends, has one number type: 80.0 is the port 80
            return (_INT, int(value)) if value.is_integer() and abs(value) < 1e21 else (_FLOAT, value)
    return None


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that rejects duplicate keys, as the API server's strict decoding does.

    Plain maps, lists and strings, nearly all of a manifest, are built by a
    direct walk of the nodes: five times faster than the general constructor,
    which still builds every other tag (numbers, booleans, merge keys).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[type, str, bool], str] = {}

    def resolve(self, kind: type, value: str | None, implicit: Any) -> str:
        """A scalar's implicit tag as kubectl's decoder gives it (see `_go_number`), cached by its text.

        Manifests repeat the same keys and values thousands of times. A quoted
        scalar is a string; a plain one is a number, boolean or null only as go-yaml reads it.
        """
        if kind is not yaml.ScalarNode or value is None or not implicit[0]:
            return super().resolve(kind, value, implicit)
        tag = self._tags.get(value)
        if tag is None:
            resolved = _go_number(value)
            tag = resolved[0] if resolved else _STR
            if len(value) <= 64:
                self._tags[value] = tag
        return tag

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any node, once its explicit tag is known to fit it: `!!map [a]` or `!!seq x` is an error, not a crash."""
        expected = _COLLECTION_TAGS.get(node.tag)
        if expected is not None and node.__class__ is not expected:
            raise yaml.constructor.ConstructorError(None, None, f"tag !!{node.tag.rsplit(':', 1)[-1]} does not "
                                                    f"fit a {_NODE_NAMES[node.__class__]}", node.start_mark)
        return super().construct_object(node, deep=deep)

    def construct_go_scalar(self, node: yaml.Node) -> Any:
        """An explicitly tagged `!!int`, `!!float`, `!!bool`, `!!null` or `!!timestamp` scalar, as go-yaml v2
        decodes it: the text must read as that type (an integer may stand for a float), else it is an error."""
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, f"tag !!{node.tag.rsplit(':', 1)[-1]} needs a "
                                                    f"scalar, found a {_NODE_NAMES[node.__class__]}", node.start_mark)
        if node.tag == _TIMESTAMP and _GO_TIMESTAMP.fullmatch(node.value):
            return node.value  # kubectl keeps a timestamp as its text
        tag, value = _go_number(node.value) or (_STR, node.value)
        if tag == node.tag:
            return value
        if node.tag == _FLOAT and tag == _INT:
            return value  # `!!float 3` is the JSON number 3
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        raise yaml.constructor.ConstructorError(None, None, f"cannot read {shown!r} as !!"
                                                f"{node.tag.rsplit(':', 1)[-1]}", node.start_mark)

    def refuse_tag(self, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(None, None, f"tag !!{node.tag.rsplit(':', 1)[-1]} is not part of "
                                                "Kubernetes YAML (kubectl reads no sets, ordered maps or pairs)",
                                                node.start_mark)

    def construct_document(self, node: yaml.Node) -> Any:
        return self._construct_plain(node)

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


_COLLECTION_TAGS = {_MAP: yaml.MappingNode, _SEQ: yaml.SequenceNode}
_NODE_NAMES = {yaml.MappingNode: "mapping", yaml.SequenceNode: "list", yaml.ScalarNode: "scalar"}
for _tag in (_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
    _StrictLoader.add_constructor(_tag, _StrictLoader.construct_go_scalar)
for _tag in ("set", "omap", "pairs"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader.refuse_tag)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


def _check_aliases(root: yaml.Node, file: str) -> None:
    """Reject a document that aliases its own ancestor, or expands far beyond what it writes.

    A node's size is one plus, for a scalar, its characters: an alias of a long string
    costs what the string costs wherever it is printed. Sizes are counted per distinct
    node (each once), so the count itself never expands.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    written = 0
    while stack:
        node, done = stack.pop()
        if done:
            on_path.discard(id(node))
            sizes[id(node)] = 1 + (len(node.value) if node.__class__ is yaml.ScalarNode else
                                   sum(sizes[id(child)] for child in _children(node)))
            written += 1 + (len(node.value) if node.__class__ is yaml.ScalarNode else 0)
            continue
        if id(node) in sizes:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise ManifestError.at(f"{file}:{child.start_mark.line + 1}", "an alias refers to a node that "
                                       "contains it; a Kubernetes object cannot be recursive")
            if id(child) not in sizes:
                stack.append((child, False))
    expanded = sizes[id(root)]
    if expanded > max(ALIAS_EXPANSION * written, ALIAS_EXPANSION_FLOOR):
        raise ManifestError.at(f"{file}:{root.start_mark.line + 1}", f"YAML aliases expand this document to "
                               f"{expanded:,} nodes and characters from {written:,} written (more than "
                               f"{ALIAS_EXPANSION}x): refusing an alias bomb")


def _yaml_problem(error: yaml.YAMLError, text: str, file: str) -> ManifestError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = f":{mark.line + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark and (template := re.search(r"\{\{.*?\}\}", text.splitlines()[mark.line] if
                                       mark.line < len(text.splitlines()) else "")):
        problem = f"unrendered template {template.group(0)!r}; render it first (helm template, envsubst)"
    return ManifestError.at(f"{file}{line}", f"invalid YAML: {problem}")


def parse_documents(text: str, file: str) -> list[tuple[Any, int, yaml.Node]]:
    """(data, first line, node tree) for every non-empty YAML/JSON document.

    Aliases are checked (see `_check_aliases`) only when the text can hold an anchor.
    """
    loader = _StrictLoader(text)
    documents = []
    anchors = "&" in text and "*" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if anchors:
                _check_aliases(node, file)
            data = loader.construct_document(node)
            if data is None:
                continue
            documents.append((data, node.start_mark.line + 1, node))
    except yaml.YAMLError as error:
        raise _yaml_problem(error, text, file) from error
    except RecursionError:
        raise ManifestError(f"{file}: nested too deeply to be a Kubernetes object") from None
    finally:
        loader.dispose()
    return documents


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def check_json(text: str, file: str) -> None:
    """A .json file is strict JSON: no comments, trailing commas, single quotes, NaN, duplicate keys, and one
    value (several objects go in a List). YAML then reads it for the lines, as JSON is YAML."""
    decoder = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    try:
        _, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
    except json.JSONDecodeError as error:
        raise ManifestError.at(f"{file}:{error.lineno}", f"invalid JSON: {error.msg} (column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        raise ManifestError(f"{file}: invalid JSON: {error}") from None
    if text[end:].strip():
        line = text.count("\n", 0, end + len(text[end:]) - len(text[end:].lstrip())) + 1
        raise ManifestError.at(f"{file}:{line}", "invalid JSON: more than one value in the file; put several "
                                                     "objects in a List")


def file_documents(text: str, file: str) -> list[tuple[Any, int, yaml.Node]]:
    """parse_documents for a manifest file, a .json one held to strict JSON first."""
    if file.endswith(".json"):
        check_json(text, file)
    return parse_documents(text, file)


def _objects(data: Any, line: int, node: yaml.Node | None, file: str) -> Iterable[Manifest]:
    """Objects of one document; `List` kinds (v1 List, *List) expand to their items."""
    if not isinstance(data, dict):
        raise ManifestError.at(f"{file}:{line}", f"expected a Kubernetes object (a mapping), found "
                                                f"{type(data).__name__}")
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in data:
        items = data["items"] if data["items"] is not None else []
        if not isinstance(items, list):
            got = schema.describe(items, None)
            raise ManifestError.at(f"{file}:{node_line(node, ('items',), line)}",
                                   f"items: expected a list of objects, got {got}")
        for index, item in enumerate(items):
            steps = list(_walk(node, ("items", index)))
            item_line, item_node = steps[-1] if len(steps) == 2 else (line, None)
            yield from _objects(item, item_line, item_node, file)
        return
    yield _checked(Manifest(data, file, line, node))


def _checked(manifest: Manifest) -> Manifest:
    """Identity and every field the checks read (gate.schema), as the API server would reject them.

    Then the node tree gives way to the line tree: all of it, but only the
    top-level keys of ConfigMaps and Secrets, whose payloads no finding points into.
    """
    obj, where = manifest.obj, f"{manifest.file}:{manifest.line}"
    for key in ("apiVersion", "kind"):
        if obj.get(key) is None or obj.get(key) == "":
            raise ManifestError.at(where, f"missing {key}; not a Kubernetes object")
    if manifest.node is not None:
        manifest.lines = line_tree(manifest.node) if manifest.kind not in PAYLOADS else \
            {key.value: key.start_mark.line + 1 for key, _ in getattr(manifest.node, "value", ())}
    try:
        schema.check(obj, manifest.written)
    except schema.Invalid as invalid:
        raise ManifestError.at(manifest.location(*invalid.path), f"{schema.dotted(invalid.path)}: "
                                                                 f"{invalid.message}") from None
    manifest.node = None
    for payload in PAYLOADS.get(manifest.kind, ()):
        obj.pop(payload, None)
    return manifest


def _check_kinds(manifests: list[Manifest]) -> None:
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


def max_file_bytes() -> int:
    """The size limit on one input file: DEFAULT_MAX_FILE_BYTES, or $DEPLOY_GATE_MAX_FILE_BYTES."""
    value = os.environ.get(MAX_FILE_BYTES_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_FILE_BYTES
    if not value.isascii() or not value.isdigit() or int(value[:20]) == 0:
        raise UsageError(f"{MAX_FILE_BYTES_VARIABLE}={value[:40]!r}: expected a positive number of bytes")
    return int(value[:20])


def _read_regular(path: Path, name: str, limit: int) -> bytes:
    """At most limit + 1 bytes of a regular file. A FIFO, a device (/dev/zero) or a socket is refused before it
    is read: it may never end, or block forever; without O_NONBLOCK, opening a FIFO would already block."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        dangling = " (a symbolic link to a missing file)" if os.path.islink(path) else ""
        raise ManifestError(f"{name}: no such file or directory{dangling}") from None
    except OSError as error:
        raise ManifestError(f"{name}: cannot read: {error.strerror or error}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise ManifestError(f"{name}: cannot read: it is a directory")
        raise ManifestError(f"{name}: not a regular file (a FIFO, device or socket); to read a stream, "
                            f"pipe it to '-' (stdin)")
    with os.fdopen(descriptor, "rb") as file:
        try:
            return file.read(limit + 1)
        except OSError as error:
            raise ManifestError(f"{name}: cannot read: {error.strerror or error}") from None


def read_text(path: Path | str) -> str:
    """A file's text ('-': stdin); one ManifestError when it is missing, a directory, not a regular file, larger
    than the limit (`max_file_bytes`), or not UTF-8 text."""
    name = "<stdin>" if str(path) == STDIN else str(path)
    limit = max_file_bytes()
    if str(path) == STDIN:
        stdin = getattr(sys.stdin, "buffer", sys.stdin)  # bytes, so binary input is an error, not a crash
        data = stdin.read(limit + 1)
    else:
        data = _read_regular(Path(path), name, limit)
    if len(data) > limit:
        raise ManifestError(f"{name}: larger than {limit:,} bytes, the limit on an input file; set "
                            f"{MAX_FILE_BYTES_VARIABLE} to raise it")
    if isinstance(data, str):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(f"{name}: not a text file (byte {error.start}: {error.reason})") from None
    if "\x00" in text:
        raise ManifestError(f"{name}: not a text file (it holds NUL bytes)")
    return text


def _kubernetes_like(data: Any) -> bool:
    """A mapping that means to be a Kubernetes object: apiVersion and kind, the group built-in or a domain.

    A CRD's group must hold a dot, so skaffold's `apiVersion: skaffold/v4`,
    `kind: Config` is another tool's file; a wrong type still means an object.
    """
    if not isinstance(data, dict) or "apiVersion" not in data or "kind" not in data:
        return False
    version = data["apiVersion"]
    return not isinstance(version, str) or is_builtin(version) or "." in api_group(version)


# API groups of tools' own configuration files, never served by an API server: kind, kubeadm, the kubelet and
# other components (`*.config.k8s.io`), audit policies, istioctl's install config (IstioOperator).
TOOL_CONFIG_GROUPS = ("kind.x-k8s.io", "kubeadm.k8s.io", "audit.k8s.io", "install.istio.io")


def _tool_config(data: Any) -> str | None:
    """Why a document with apiVersion and kind is no object `kubectl apply` creates, or None when it is one.

    A tool's config group, or a custom kind without metadata.name (kind's `Cluster`); a built-in kind without a
    name stays an error, as kubectl apply fails on it.
    """
    version = data.get("apiVersion")
    if not isinstance(version, str) or is_builtin(version):
        return None
    group = api_group(version)
    if group in TOOL_CONFIG_GROUPS or group.endswith(".config.k8s.io"):
        return f"{data.get('kind')} ({version}) is a tool's configuration, not a cluster object"
    metadata = data.get("metadata")
    named = isinstance(metadata, dict) and isinstance(metadata.get("name") or metadata.get("generateName"), str)
    return None if named else f"{data.get('kind')} ({version}) has no metadata.name: not an object kubectl apply " \
                              f"creates"


# A file that means to hold Kubernetes objects: apiVersion and kind keys, at the start of YAML lines or in JSON.
_OBJECT_KEYS = re.compile(r"""^\s*["']?apiVersion["']?\s*:.*^\s*["']?kind["']?\s*:"""
                          r"""|"apiVersion"\s*:.*"kind"\s*:|"kind"\s*:.*"apiVersion"\s*:""", re.M | re.S)


def excluded(path: Path, directory: Path, exclude: Iterable[str]) -> bool:
    """Whether gate.yaml's `exclude:` leaves path out of the walk of directory: a glob matches the path relative
    to the directory (`*` also crosses `/`: `examples`, `examples/*`, `*/variants`, `*.example.yaml`)."""
    relative = path.relative_to(directory).as_posix()
    return any(fnmatch.fnmatchcase(relative, glob.rstrip("/")) for glob in exclude)


def _directory_files(directory: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """The manifest files below directory, sorted, walked without recursion (any depth up to
    MAX_DIRECTORY_DEPTH), less what `exclude` names (an excluded directory is not entered). An unreadable
    directory, a kustomization, or a `*.yaml` entry that is no readable file (a dangling or looping symbolic
    link, a FIFO) is an error: `kubectl apply -f DIR` fails on it too."""
    files = []
    pending = [(directory, 0)]
    while pending:
        here, depth = pending.pop()
        try:
            with os.scandir(here) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as error:
            raise ManifestError(f"{here}: cannot read the directory: {error.strerror or error}") from None
        if kustomization := next((e.name for e in entries if e.name in KUSTOMIZATION_FILES), None):
            raise ManifestError(f"{here / kustomization}: {here} is a kustomization; render it with -k {here} "
                                f"(a PATH is read as plain manifests)")
        for entry in entries:
            if exclude and excluded(Path(entry.path), directory, exclude):
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_DIRECTORY_DEPTH:
                    raise ManifestError(f"{entry.path}: more than {MAX_DIRECTORY_DEPTH} directories deep below "
                                        f"{directory}; give a shallower PATH")
                pending.append((Path(entry.path), depth + 1))
            elif Path(entry.name).suffix in MANIFEST_SUFFIXES and not _is_directory(entry):
                files.append(Path(entry.path))
    return sorted(p for p in files if p != directory / CONFIG_FILE_NAME)


def _is_directory(entry: os.DirEntry[str]) -> bool:
    """A symbolic link to a directory named `x.yaml` is not followed (as kubectl's walk); any other entry is
    read, so that a broken one is an error."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _directory_documents(file: Path, result: ManifestSet) -> list[tuple[Any, int, yaml.Node]]:
    """A walked file's documents; a file of another tool (values, dashboards, JSON with comments) is skipped."""
    text = read_text(file)
    try:
        documents = file_documents(text, str(file))
    except ManifestError as error:
        if _OBJECT_KEYS.search(text):
            raise
        result.skipped_files[str(file)] = f"not YAML or JSON ({str(error).split(': ', 1)[-1]}), no Kubernetes object"
        return []
    if documents and not any(_kubernetes_like(data) for data, _, _ in documents):
        result.skipped_files[str(file)] = "no Kubernetes object in it"
        return []
    configs = [(line, why) for data, line, _ in documents if _kubernetes_like(data) and (why := _tool_config(data))]
    if configs:
        result.skipped_files[str(file)] = "; ".join(f"line {line}: {why}" for line, why in configs)
        skipped = {line for line, _ in configs}
        return [document for document in documents if document[1] not in skipped]
    return documents


def load(paths: Iterable[str], kustomize_dirs: Iterable[str] = (), exclude: Iterable[str] = (),
         helm: HelmChart | None = None) -> ManifestSet:
    """Read and validate every path, kustomization and chart (see `_load`); a directory walk leaves out the
    `exclude` globs of gate.yaml. No process-wide side effect: the command line pauses the garbage collector
    around it (`gate.cli.bulk_load`)."""
    return _load(list(paths), list(kustomize_dirs), tuple(exclude), helm)


def directory_config(paths: Iterable[str]) -> Path | None:
    """gate.yaml at the root of the first directory given, the config when --config is not: whatever it is,
    load_config says why a FIFO or a dangling link is not one."""
    for raw in paths:
        if raw and raw != STDIN and _is_directory_path(Path(raw)) and os.path.lexists(Path(raw) / CONFIG_FILE_NAME):
            return Path(raw) / CONFIG_FILE_NAME
    return None


def _is_directory_path(path: Path) -> bool:
    """Path.is_dir, with a path the system cannot even look up (too long, a loop) left for read_text to name."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _load(paths: list[str], kustomize_dirs: list[str], exclude: tuple[str, ...] = (),
          helm: HelmChart | None = None) -> ManifestSet:
    """Read every path (file, directory, or '-' for stdin) and kustomization; validate the objects.

    In a directory, files holding no Kubernetes object (CI workflows, Helm
    values) are skipped and listed, a kustomization is an error (render it with
    -k), and `gate.yaml` at the directory's root is the config. No object at
    all is an error: a gate that checked nothing must not pass.
    """
    result = ManifestSet(config_file=directory_config(paths))
    for raw in paths:
        if not raw:
            raise ManifestError("'': an empty PATH; give a file, a directory or '-' (kubectl too refuses it)")
        path = Path(raw)
        if raw != STDIN and _is_directory_path(path):
            for file in _directory_files(path, exclude):
                for data, line, node in _directory_documents(file, result):
                    result.manifests.extend(_objects(data, line, node, str(file)))
            continue
        name = "<stdin>" if raw == STDIN else raw
        text = read_text(raw)
        if raw == STDIN and is_helm_stream(text):  # `helm template … | deploy-gate lint -f -`: no file to point at
            result.manifests.extend(helm_stream(text, name))
            continue
        for data, line, node in file_documents(text, name):
            result.manifests.extend(_objects(data, line, node, name))
    for directory in kustomize_dirs:
        result.manifests.extend(_kustomize(directory))
    if helm is not None:
        result.manifests.extend(_helm_template(helm))
    if not result.manifests:
        inputs = ", ".join(["<stdin>" if p == STDIN else p for p in paths] + [f"-k {d}" for d in kustomize_dirs] +
                           [f"--helm {helm.chart}" for helm in (helm,) if helm is not None])
        raise ManifestError(f"{inputs}: no Kubernetes object in it (empty, only comments, or only files of other "
                            f"tools); nothing to check")
    _check_kinds(result.manifests)
    return result


# kustomize's record of where an object came from (buildMetadata: [originAnnotations]): `path` of its source
# file, relative to the kustomization rendered, or `configuredIn` (a generator's kustomization), `repo` (remote).
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def _kustomize(directory: str) -> list[Manifest]:
    """Render the kustomization at directory, each object located in the file it came from.

    The user's directory is rendered through a generated overlay that asks kustomize to record each object's
    origin (kubectl kustomize has no flag for it); the annotation is removed before any rule sees the object.
    An object from a remote base or a generator is located at the user's kustomization file.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError(f"{directory}: -k needs kubectl on PATH (it renders the kustomization)")
    root = Path(directory).resolve()
    kustomization = next((root / name for name in KUSTOMIZATION_FILES if (root / name).is_file()), None)
    if not _is_directory_path(root) or kustomization is None:
        raise ManifestError(f"{directory}: -k needs a directory holding a kustomization.yaml")
    with tempfile.TemporaryDirectory(prefix="deploy-gate-kustomize-") as overlay:
        relative = os.path.relpath(root, overlay)  # kustomize refuses an absolute path as a resource root
        Path(overlay, "kustomization.yaml").write_text(json.dumps(
            {"resources": [relative], "buildMetadata": ["originAnnotations"]}))
        rendered = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True)
        if rendered.returncode != 0:
            message = rendered.stderr.strip().splitlines()[-1] if rendered.stderr.strip() else "failed"
            raise ManifestError(f"{directory}: kubectl kustomize: {message.replace(relative, directory)}")
        origins = _Origins(Path(overlay), root, directory, _shown(kustomization, root, directory))
        return [m for data, line, node in parse_documents(rendered.stdout, f"{directory} (kustomize)")
                for m in _objects(data, *origins.locate(data, line, node))]


@dataclass(frozen=True)
class HelmChart:
    """A chart to render with `helm template`, with its values files and --set values."""

    chart: str
    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    namespace: str | None = None


def _helm_template(helm: HelmChart) -> list[Manifest]:
    """Render a chart with `helm template`, each object located at the template its `# Source:` names.

    For a local chart directory that is the file in it (`chart/templates/service.yaml`), else the path
    as helm prints it. The line is the line inside the rendered document.
    """
    executable = shutil.which("helm")
    if executable is None:
        raise ManifestError(f"{helm.chart}: --helm needs helm on PATH (it renders the chart)")
    command = [executable, "template", *(f"--values={v}" for v in helm.values), *(f"--set={s}" for s in helm.sets),
               *([f"--namespace={helm.namespace}"] if helm.namespace else []), "--", helm.chart]
    rendered = subprocess.run(command, capture_output=True, text=True)
    if rendered.returncode != 0:
        message = rendered.stderr.strip().splitlines()[-1] if rendered.stderr.strip() else "failed"
        raise ManifestError(f"{helm.chart}: helm template: {message}")
    if len(rendered.stdout) > max_file_bytes():
        raise ManifestError(f"{helm.chart}: helm template printed more than {max_file_bytes():,} bytes, the limit "
                            f"on an input; set {MAX_FILE_BYTES_VARIABLE} to raise it")
    local = helm.chart if _is_directory_path(Path(helm.chart)) else None
    return helm_stream(rendered.stdout, f"{helm.chart} (helm template)", local)


# Helm writes every rendered document as a `---` line, a `# Source: <chart>/templates/<file>` line, then the
# document: `helm template`, and the manifest of a release as Helm stores it.
_DOCUMENT_SEPARATOR = re.compile(r"---[ \t]*")
_HELM_SOURCE = re.compile(r"# Source: (\S.*?)[ \t]*")


def _helm_segments(text: str) -> Iterator[tuple[str | None, int, str]]:
    """(the template a `# Source:` line names, or None; the index of the segment's first line; its text)
    for each document of a helm stream."""
    source: str | None = None
    start, lines, expect_source = 0, [], True
    for index, line in enumerate(text.splitlines(keepends=True)):
        bare = line.rstrip("\r\n")
        if _DOCUMENT_SEPARATOR.fullmatch(bare):
            yield source, start, "".join(lines)
            source, start, lines, expect_source = None, index + 1, [], True
        elif expect_source and (named := _HELM_SOURCE.fullmatch(bare)):
            source, start, lines, expect_source = named.group(1), index + 1, [], False
        else:
            lines.append(line)
            expect_source = expect_source and not bare.strip()
    yield source, start, "".join(lines)


def is_helm_stream(text: str) -> bool:
    """Helm's output: a `# Source:` line opens a document."""
    return any(source is not None for source, _, _ in _helm_segments(text))


def helm_stream(text: str, name: str, chart_dir: str | None = None) -> list[Manifest]:
    """The objects of a helm stream, each in the template file its `# Source:` names, at its line in the
    rendered document; `chart_dir` (a local chart) replaces the chart's name at the head of that path.
    A document without a `# Source:` line keeps `name` and its line in the stream."""
    manifests = []
    for source, start, segment in _helm_segments(text):
        file, located = (_template_file(source, chart_dir), segment) if source else (name, "\n" * start + segment)
        for data, line, node in parse_documents(located, file):
            manifests.extend(_objects(data, line, node, file))
    return manifests


def _template_file(source: str, chart_dir: str | None) -> str:
    """`web/templates/svc.yaml` as recorded, or in the local chart directory (`charts/web/templates/svc.yaml`)."""
    inside = source.partition("/")[2]
    return os.path.normpath(os.path.join(chart_dir, inside)) if chart_dir and inside else source


def _shown(source: Path, root: Path, directory: str) -> str:
    """A source file as the user would write it: relative to the -k DIR they gave (`app/base/deploy.yaml`)."""
    return os.path.normpath(os.path.join(directory, os.path.relpath(source, root)))


@dataclass
class _Origins:
    """Maps a rendered object back to its source file and the line of its document there."""

    overlay: Path
    root: Path
    directory: str
    fallback: str  # the user's kustomization file
    sources: dict[Path, list[tuple[Any, int, yaml.Node]]] = field(default_factory=dict)

    def locate(self, data: Any, line: int, node: yaml.Node) -> tuple[int, yaml.Node | None, str]:
        """(line, node for field lines, file) of a rendered object; the origin annotation is removed."""
        origin = self._pop_origin(data)
        path = origin.get("path") if isinstance(origin, dict) and not origin.get("repo") else None
        if not isinstance(path, str):
            return 1, None, self.fallback
        source = (self.overlay / path).resolve()
        found = self._document(source, data)
        shown = _shown(source, self.root, self.directory)
        return (found[1], found[2], shown) if found else (1, None, shown)

    @staticmethod
    def _pop_origin(data: Any) -> Any:
        annotations = dig(data, "metadata", "annotations")
        if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
            return None
        text = annotations.pop(ORIGIN_ANNOTATION)
        if not annotations:
            del data["metadata"]["annotations"]
        try:
            return yaml.safe_load(text) if isinstance(text, str) else None
        except yaml.YAMLError:
            return None

    def _document(self, source: Path, data: dict[str, Any]) -> tuple[Any, int, yaml.Node] | None:
        """The source document with the object's kind and name (kustomize may prefix or suffix the name)."""
        if source not in self.sources:
            try:
                self.sources[source] = parse_documents(read_text(source), str(source))
            except ManifestError:
                self.sources[source] = []
        name = dig(data, "metadata", "name")
        same_kind = [d for d in self.sources[source] if isinstance(d[0], dict) and d[0].get("kind") == data.get("kind")]
        named = [(d, written) for d in same_kind if isinstance(written := dig(d[0], "metadata", "name"), str)
                 and written]
        return next((d for d, written in named if written == name), None) or \
            next((d for d, written in named if isinstance(name, str) and written in name), None) or \
            (same_kind[0] if len(same_kind) == 1 else None)


# `kubectl apply -o name` (deployment.apps/web) or its default output (deployment.apps/web configured);
# with --prune, `deployment.apps/old pruned` for each object it deleted.
_APPLIED = re.compile(r"([a-z0-9.-]+)/(\S+)(?: (created|configured|unchanged|serverside-applied|pruned))?")
PRUNED = "pruned"
_APPLY_ERRORS = ("Error from server", "error:", "Error:")


def parse_apply_output(text: str, name: str) -> list[tuple[str, str]] | ManifestSet:
    """The touched set from `kubectl apply` output: (kind, name) from `-o name` lines, or `-o yaml|json` objects.

    `-o name` carries no namespace: the caller supplies the run's, as kubectl used it.
    An apply that printed an error failed, and a run with no object has nothing to verify.
    A pruned object (`--prune`) was deleted: it is no part of the touched set.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Warning:")]
    errors = [line for line in lines if line.startswith(_APPLY_ERRORS)]
    if errors:
        more = f" (and {len(errors) - 1} more error line(s))" if len(errors) > 1 else ""
        raise ManifestError(f"{name}: the apply failed: {errors[0]}{more}")
    if any(line.endswith("dry run)") for line in lines):
        raise ManifestError(f"{name}: the apply was a dry run; nothing was applied to verify")
    applied = [_APPLIED.fullmatch(line) for line in lines]
    if lines and all(applied):
        touched = [(kind_named(m.group(1)) or m.group(1).split(".", 1)[0], m.group(2)) for m in applied
                   if m and m.group(3) != PRUNED]
        if not touched:
            raise ManifestError(f"nothing to verify: the apply only pruned objects ({name})")
        return touched
    result = ManifestSet()
    for data, line, node in parse_documents(text, name):
        result.manifests.extend(_objects(data, line, node, name))
    if not result.manifests:
        raise ManifestError(f"nothing to verify: the apply output holds no object ({name})")
    _check_kinds(result.manifests)
    return result

