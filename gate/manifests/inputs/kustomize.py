"""`-k DIR`: a kustomization rendered by kubectl, each object located in the source file it came from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import ManifestError
from gate.manifests.inputs.files import KUSTOMIZATION_FILES, is_directory_path, read_text
from gate.manifests.positions import Manifest
from gate.manifests.validation import objects
from gate.manifests.yaml_go import parse_documents
from gate.objects import dig

# kustomize's record of where an object came from (buildMetadata: [originAnnotations]): `path` of its source
# file, relative to the kustomization rendered, or `configuredIn` (a generator's kustomization), `repo` (remote).
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


def kustomize(directory: str) -> list[Manifest]:
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
    if not is_directory_path(root) or kustomization is None:
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
                for m in objects(data, *origins.locate(data, line, node))]



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

