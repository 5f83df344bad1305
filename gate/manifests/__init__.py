"""Load the touched objects from files, directories, stdin, kustomize, a Helm chart or `kubectl apply -o` output.

The package, one concern a module: `positions` (where each field was written), `yaml_go` (documents read as
kubectl reads them), `validation` (objects held to their kind's schema), and `inputs` (one module per source).
Every object keeps its file and the line of every field, so a finding can say
"examples/.../deployment.yaml:14" for the exact template labels it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gate.errors import ManifestError
from gate.manifests.inputs.apply import parse_apply_output
from gate.manifests.inputs.files import (
    MANIFEST_SUFFIXES,
    STDIN,
    directory_config,
    directory_documents,
    directory_files,
    is_directory_path,
    read_text,
)
from gate.manifests.inputs.helm import HelmChart, helm_stream, helm_template, is_helm_stream
from gate.manifests.inputs.kustomize import ORIGIN_ANNOTATION, kustomize
from gate.manifests.positions import Manifest, ManifestSet
from gate.manifests.validation import check_kinds, objects
from gate.manifests.yaml_go import file_documents, parse_documents

# What the rest of deploy-gate reads from the loader.
__all__ = ["MANIFEST_SUFFIXES", "ORIGIN_ANNOTATION", "STDIN", "HelmChart", "Manifest", "ManifestSet",
           "directory_config", "helm_stream", "load", "parse_apply_output", "parse_documents", "read_text"]


def load(paths: Iterable[str], kustomize_dirs: Iterable[str] = (), exclude: Iterable[str] = (),
         helm: HelmChart | None = None) -> ManifestSet:
    """Read and validate every path, kustomization and chart (see `_load`); a directory walk leaves out the
    `exclude` globs of gate.yaml. No process-wide side effect: the command line pauses the garbage collector
    around it (`gate.inputs.bulk_load`)."""
    return _load(list(paths), list(kustomize_dirs), tuple(exclude), helm)


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
        result.manifests.extend(_path_objects(raw, exclude, result))
    for directory in kustomize_dirs:
        result.manifests.extend(kustomize(directory))
    if helm is not None:
        result.manifests.extend(helm_template(helm))
    if not result.manifests:
        inputs = ", ".join(["<stdin>" if p == STDIN else p for p in paths] + [f"-k {d}" for d in kustomize_dirs] +
                           [f"--helm {helm.chart}" for helm in (helm,) if helm is not None])
        raise ManifestError(f"{inputs}: no Kubernetes object in it (empty, only comments, or only files of other "
                            f"tools); nothing to check")
    check_kinds(result.manifests)
    return result



def _path_objects(raw: str, exclude: tuple[str, ...], result: ManifestSet) -> list[Manifest]:
    """The objects of one PATH: a file, a directory (its skipped files recorded in result), or '-' for stdin."""
    if not raw:
        raise ManifestError("'': an empty PATH; give a file, a directory or '-' (kubectl too refuses it)")
    if raw != STDIN and is_directory_path(Path(raw)):
        return [manifest for file in directory_files(Path(raw), exclude)
                for data, line, node in directory_documents(file, result)
                for manifest in objects(data, line, node, str(file))]
    name = "<stdin>" if raw == STDIN else raw
    text = read_text(raw)
    if raw == STDIN and is_helm_stream(text):  # `helm template … | deploy-gate lint -f -`: no file to point at
        return helm_stream(text, name)
    return [manifest for data, line, node in file_documents(text, name) for manifest in objects(data, line, node, name)]
