"""What a command reads before its work: the manifests and gate.yaml, checked against the command line."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gate.config import GateConfig, load_config
from gate.errors import UsageError
from gate.manifests import STDIN, HelmChart, ManifestSet, directory_config, load

if TYPE_CHECKING:  # the kubernetes client, 0.3 s to import, loads only in commands that ask a cluster
    from gate.cluster import Cluster


def check_stdin(*paths: str | None) -> None:
    """'-' names stdin, which holds one document stream."""
    if paths.count(STDIN) > 1:
        raise UsageError("'-' (stdin) can be given only once")


def check_namespace(manifests: ManifestSet, namespace: str | None) -> None:
    """-n must not contradict a manifest's own namespace: kubectl refuses that too, rather than pick one."""
    for manifest in manifests.manifests if namespace else ():
        own = (manifest.obj.get("metadata") or {}).get("namespace")
        if own and own != namespace:
            raise UsageError.at(manifest.location("metadata", "namespace"),
                                f"the namespace from the provided object {own!r} does not match the namespace "
                                f"{namespace!r} given with -n; pass -n {own} or drop -n")


@contextmanager
def bulk_load() -> Iterator[None]:
    """Pause the cyclic garbage collector while manifests load, then freeze what was loaded out of its scans.

    Thousands of objects live for the whole run: scanning them found nothing and cost a third of the parse
    time, then 0.2 s more in the first full collection afterwards. The process is the command's, so the
    command decides this, not the loader.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if collecting:
            gc.enable()


def load_manifests(sources: tuple[str, ...], kustomize: tuple[str, ...], namespace: str | None,
                   exclude: tuple[str, ...] = (), helm: HelmChart | None = None) -> ManifestSet:
    """The manifests, loaded in bulk, none in a namespace other than -n's."""
    with bulk_load():
        manifests = load(sources, kustomize, exclude, helm)
    check_namespace(manifests, namespace)
    return manifests


def load_inputs(sources: tuple[str, ...], kustomize: tuple[str, ...], config_path: str | None,
                namespace: str | None, helm: HelmChart | None = None) -> tuple[ManifestSet, GateConfig]:
    """The manifests (none when none are given) and the config: --config, else a gate.yaml at the root of a
    given directory. The config comes first: its `exclude:` prunes the walk."""
    config = load_config(config_path or directory_config(sources))
    if not sources and not kustomize and helm is None:
        return ManifestSet(), config
    return load_manifests(sources, kustomize, namespace, config.exclude, helm), config


def open_cluster(kubeconfig: str | None, context: str | None, request_timeout: float | None) -> Cluster:
    """The cluster, each request bounded by --request-timeout (None: the default; 0: by the run's deadline only).
    The kubernetes client loads here, in the commands that ask a cluster."""
    from gate.cluster import REQUEST_SECONDS, Cluster

    seconds = REQUEST_SECONDS if request_timeout is None else request_timeout or None
    return Cluster(kubeconfig, context, seconds)
