"""Where each field of a manifest was written: line trees, the located object, and the set that was read.

Every object keeps its file and the line of every field, so a finding can say
"examples/.../deployment.yaml:14" for the exact template labels it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.location import Location
from gate.objects import FieldPath, Object, ObjectRef, ref_of

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
    # Where a rendered object's document starts in the renderer's output (`helm template`): the line numbers of
    # `file` are those of the rendered document, this says where that document is in the whole stream.
    rendered: Location | None = field(default=None, repr=False)

    def rendered_line(self, line: int) -> Location | None:
        """A line of this object's document, in the stream it was rendered into (None: not rendered)."""
        return None if self.rendered is None else Location(self.rendered.file, self.rendered.line + line - self.line)

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

    def location(self, *path: str | int) -> Location:
        """Where the deepest existing prefix of path was written."""
        return Location(self.file, self.line_of(*path))

    def written(self, path: FieldPath) -> str | None:
        """The scalar at path as written in the file (`yes`, not True), for messages."""
        return written(self.node, path)


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


def walk(node: yaml.Node | None, path: FieldPath) -> Iterator[tuple[int, yaml.Node]]:
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


def written(node: yaml.Node | None, path: FieldPath) -> str | None:
    """The scalar at path below node as written (`yes`, not True), for messages; None if it is no scalar there."""
    steps = list(walk(node, path))
    if len(steps) == len(path) and steps and isinstance(steps[-1][1], yaml.ScalarNode):
        return str(steps[-1][1].value)
    return None


def node_line(node: yaml.Node | None, path: FieldPath, default: int) -> int:
    """The line of the deepest step of path that exists (default when none does)."""
    steps = list(walk(node, path))
    return steps[-1][0] if steps else default
