"""Files, directories and stdin: bounded reads, and the walk of a directory that skips other tools' files."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ManifestError, UsageError
from gate.kinds import api_group, is_builtin
from gate.manifests.positions import ManifestSet
from gate.manifests.yaml_go import file_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_FILE_NAME = "gate.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# The largest input file read (bytes). Memory is at most ~70 times it (many tiny objects; 16 MiB: ~1.1 GB),
# and the largest public install bundles are a few MiB. The variable raises or lowers it.
MAX_FILE_BYTES_VARIABLE = "DEPLOY_GATE_MAX_FILE_BYTES"
DEFAULT_MAX_FILE_BYTES = 16 * 2 ** 20
# Directories deeper than this below a given PATH are refused: no manifest tree is, and the walk stays bounded.
MAX_DIRECTORY_DEPTH = 100
STDIN = "-"


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


def directory_files(directory: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
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


def directory_documents(file: Path, result: ManifestSet) -> list[tuple[Any, int, yaml.Node]]:
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


def directory_config(paths: Iterable[str]) -> Path | None:
    """gate.yaml at the root of the first directory given, the config when --config is not: whatever it is,
    load_config says why a FIFO or a dangling link is not one."""
    for raw in paths:
        if raw and raw != STDIN and is_directory_path(Path(raw)) and os.path.lexists(Path(raw) / CONFIG_FILE_NAME):
            return Path(raw) / CONFIG_FILE_NAME
    return None


def is_directory_path(path: Path) -> bool:
    """Path.is_dir, with a path the system cannot even look up (too long, a loop) left for read_text to name."""
    try:
        return path.is_dir()
    except OSError:
        return False

