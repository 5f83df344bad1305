"""The Kubernetes API as the `k8s.io/api` Go module of each supported minor declares it, read from its source.

The module comes from the Go module proxy (`go mod download`), into Go's module cache; nothing of it is
copied into this repository. What is read: each API package's group (register.go), the types it registers
(addKnownTypes), which of them are resources (`+genclient`, `+genclient:nonNamespaced`), the minor that
introduced and removed each (zz_generated.prerelease-lifecycle.go), and every struct's json field names and
Go types, for comparing gate/schema.py's declared fields with the API's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# k8s.io/api v0.X is Kubernetes 1.X; the harness builds 1.32, deploy-gate supports these minors.
SUPPORTED_MINORS = (30, 31, 32, 33, 34)
# Registered types that are no object a manifest holds: options, subresources, wrappers.
NOT_OBJECTS = re.compile(r".*(Options|List)$|Status|Scale|Eviction|DeploymentRollback|WatchEvent|APIGroup|"
                         r"APIVersions|RangeAllocation|SerializedReference|PodStatusResult|Binding")


@dataclass(frozen=True)
class ApiKind:
    group: str
    version: str
    kind: str
    package: str  # its directory in the module: apps/v1
    namespaced: bool
    introduced: int | None  # minor; None for GA and alpha types (not tracked)
    removed: int | None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def served_in(self, minor: int) -> bool:
        return (self.introduced is None or self.introduced <= minor) and (self.removed is None or minor < self.removed)


@dataclass(frozen=True)
class GoField:
    json_name: str
    go_type: str  # as written: *int32, []Container, map[string]string, metav1.ObjectMeta, intstr.IntOrString
    inline: bool = False


@dataclass
class ApiModule:
    minor: int
    kinds: list[ApiKind] = field(default_factory=list)
    structs: dict[tuple[str, str], list[GoField]] = field(default_factory=dict)  # (package dir, name) → fields
    strings: set[tuple[str, str]] = field(default_factory=set)  # (package dir, name) of `type Protocol string`


def download(module: str, version: str) -> Path | None:
    """The module's source directory in Go's module cache, or None when go or the proxy is unavailable."""
    go = shutil.which("go")
    if go is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([go, "mod", "init", "scratch"], cwd=scratch, capture_output=True, check=False)
        done = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], cwd=scratch,
                              capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        return None
    return Path(json.loads(done.stdout)["Dir"])


_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.M | re.S)
_FIELD = re.compile(r"^\s+(?:(\w+)\s+)?([\w.*\[\]]+)\s+`[^`]*json:\"([^\"]*)\"", re.M)
_STRING_TYPES = re.compile(r"^type (\w+) string$", re.M)
_LIFECYCLE = re.compile(r"func \(in \*(\w+)\) APILifecycle(Introduced|Removed)\(\) \(major, minor int\) "
                        r"\{\n\s*return 1, (\d+)")


def _structs(source: str) -> dict[str, list[GoField]]:
    found = {}
    for name, body in _STRUCT.findall(source):
        fields = []
        for go_name, go_type, tag in _FIELD.findall(body):
            json_name, _, options = tag.partition(",")
            fields.append(GoField(json_name, go_type, inline="inline" in options or (not go_name and not json_name)))
        found[name] = fields
    return found


def _markers_before(source: str, name: str) -> str:
    """The comment blocks just above `type name struct` (markers, a blank line, then the doc comment)."""
    at = source.find(f"\ntype {name} struct")
    if at < 0:
        return ""
    block = []
    for line in reversed(source[:at].splitlines()):
        if line and not line.startswith("//"):
            break
        block.append(line)
    return "\n".join(block)


@cache
def api_module(minor: int) -> ApiModule | None:
    """k8s.io/api v0.<minor>.0, read (None when it cannot be downloaded)."""
    root = download("k8s.io/api", f"v0.{minor}.0")
    if root is None:
        return None
    module = ApiModule(minor)
    for register in sorted(root.glob("*/*/register.go")):
        package = register.parent
        group = re.search(r'GroupName\s*=\s*"([^"]*)"', register.read_text())
        if group is None:
            continue
        known = re.search(r"AddKnownTypes\(SchemeGroupVersion,(.*?)\)\n", register.read_text(), re.S)
        types = package / "types.go"
        source = types.read_text() if types.exists() else ""
        where = package.relative_to(root).as_posix()
        module.structs.update({(where, name): fields for name, fields in _structs(source).items()})
        module.strings.update((where, name) for name in _STRING_TYPES.findall(source))
        lifecycle_file = package / "zz_generated.prerelease-lifecycle.go"
        lifecycle = {(name, what): int(minor_) for name, what, minor_ in
                     _LIFECYCLE.findall(lifecycle_file.read_text() if lifecycle_file.exists() else "")}
        for name in re.findall(r"&(\w+)\{\}", known.group(1) if known else ""):
            markers = _markers_before(source, name)
            if NOT_OBJECTS.fullmatch(name) or "+genclient" not in markers:
                continue
            module.kinds.append(ApiKind(group.group(1), package.name, name, package.relative_to(root).as_posix(),
                                        "+genclient:nonNamespaced" not in markers,
                                        lifecycle.get((name, "Introduced")), lifecycle.get((name, "Removed"))))
    return module


@cache
def meta_types(minor: int) -> tuple[dict[str, list[GoField]], set[str]]:
    """The structs and string types of k8s.io/apimachinery's meta/v1 (ObjectMeta, LabelSelector) of the minor."""
    root = download("k8s.io/apimachinery", f"v0.{minor}.0")
    if root is None:
        return {}, set()
    source = (root / "pkg/apis/meta/v1/types.go").read_text()
    return _structs(source), set(_STRING_TYPES.findall(source))
