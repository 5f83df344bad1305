"""YAML and JSON documents read as kubectl reads them (sigs.k8s.io/yaml over go-yaml v2), with their node trees.

Duplicate keys, recursive aliases, alias bombs and tags Kubernetes YAML has not are one-line errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable
from typing import Any

import yaml

from gate.errors import ManifestError
from gate.location import Location

# An alias may repeat what it names (a merge key, a shared list), but a document may not expand to more
# than this many times what it writes, counted in nodes plus scalar characters: 9 levels of 9 references
# is 387 million nodes, and one 100 kB string aliased 200 times is 20 million characters.
ALIAS_EXPANSION = 10
ALIAS_EXPANSION_FLOOR = 100_000


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
                raise ManifestError.at(Location(file, child.start_mark.line + 1), "an alias refers to a node that "
                                       "contains it; a Kubernetes object cannot be recursive")
            if id(child) not in sizes:
                stack.append((child, False))
    expanded = sizes[id(root)]
    if expanded > max(ALIAS_EXPANSION * written, ALIAS_EXPANSION_FLOOR):
        raise ManifestError.at(Location(file, root.start_mark.line + 1), f"YAML aliases expand this document to "
                               f"{expanded:,} nodes and characters from {written:,} written (more than "
                               f"{ALIAS_EXPANSION}x): refusing an alias bomb")


def _yaml_problem(error: yaml.YAMLError, text: str, file: str) -> ManifestError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark and (template := re.search(r"\{\{.*?\}\}", text.splitlines()[mark.line] if
                                       mark.line < len(text.splitlines()) else "")):
        problem = f"unrendered template {template.group(0)!r}; render it first (helm template, envsubst)"
    return ManifestError.at(Location(file, mark.line + 1) if mark else file, f"invalid YAML: {problem}")


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
        raise ManifestError.at(Location(file, error.lineno),
                               f"invalid JSON: {error.msg} (column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        raise ManifestError(f"{file}: invalid JSON: {error}") from None
    if text[end:].strip():
        line = text.count("\n", 0, end + len(text[end:]) - len(text[end:].lstrip())) + 1
        raise ManifestError.at(Location(file, line), "invalid JSON: more than one value in the file; put several "
                                                     "objects in a List")


def file_documents(text: str, file: str) -> list[tuple[Any, int, yaml.Node]]:
    """parse_documents for a manifest file, a .json one held to strict JSON first."""
    if file.endswith(".json"):
        check_json(text, file)
    return parse_documents(text, file)

