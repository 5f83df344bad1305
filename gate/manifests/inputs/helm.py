"""`--helm CHART` and a helm stream on stdin: each object located at the template its `# Source:` line names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gate.errors import ManifestError
from gate.location import Location
from gate.manifests.inputs.files import MAX_FILE_BYTES_VARIABLE, is_directory_path, max_file_bytes
from gate.manifests.positions import Manifest
from gate.manifests.validation import objects
from gate.manifests.yaml_go import parse_documents


@dataclass(frozen=True)
class HelmChart:
    """A chart to render with `helm template`, with its values files and --set values."""

    chart: str
    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    namespace: str | None = None


def helm_template(helm: HelmChart) -> list[Manifest]:
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
    local = helm.chart if is_directory_path(Path(helm.chart)) else None
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
            for manifest in objects(data, line, node, file):
                manifest.rendered = Location(name, start + line) if source else None
                manifests.append(manifest)
    return manifests


def _template_file(source: str, chart_dir: str | None) -> str:
    """`web/templates/svc.yaml` as recorded, or in the local chart directory (`charts/web/templates/svc.yaml`)."""
    inside = source.partition("/")[2]
    return os.path.normpath(os.path.join(chart_dir, inside)) if chart_dir and inside else source


