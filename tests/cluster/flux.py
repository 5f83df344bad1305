"""Flux's source-controller and kustomize-controller, run on the host against a cluster, only while a test needs
them (tests/e2e/test_flux.py): built from their pinned modules, their CRDs read from the same module versions
in Go's module cache, stopped and their CRDs removed afterwards.

Both run out of the cluster with the kubeconfig they are given, like kwok. source-controller serves the
artifacts it packs over HTTP on the loopback, where kustomize-controller (also on the host) fetches them.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.cluster import build, config, processes

SOURCE = "source-controller"
KUSTOMIZE = "kustomize-controller"
CONTROLLERS = (SOURCE, KUSTOMIZE)
# What a Kustomization in a test needs: its own kind and the source kinds the controllers watch.
CRD_DIR = "config/crd/bases"


def process_name(controller: str) -> str:
    return f"flux-{controller}"


def module_dir(controller: str) -> Path:
    """The controller's module in Go's module cache, at the version go/<controller>/go.mod pins."""
    listed = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", f"github.com/fluxcd/{controller}"],
                            cwd=config.GO_DIR / controller, env=build.go_env(), capture_output=True, text=True,
                            check=True)
    return Path(listed.stdout.strip())


def crd_files() -> list[Path]:
    """Every CRD both controllers serve, from their own modules: each watches the source kinds."""
    return [path for controller in CONTROLLERS for path in sorted((module_dir(controller) / CRD_DIR).glob("*.yaml"))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(kubeconfig: Path, namespace: str, storage: Path) -> None:
    """Start both controllers (built if needed) against the cluster of `kubeconfig`, as if installed in
    `namespace`; source-controller keeps its artifacts in `storage`. Every listener is on the loopback, on a
    port free now."""
    storage.mkdir(parents=True, exist_ok=True)
    artifacts = f"127.0.0.1:{_free_port()}"
    common = ["--enable-leader-election=false", "--log-level=info", "--log-encoding=console"]
    flags = {
        SOURCE: [f"--storage-path={storage}", f"--storage-addr={artifacts}", f"--storage-adv-addr={artifacts}"],
        # A dependent Kustomization looks again 2 s after its dependency was not ready (30 s by default).
        KUSTOMIZE: ["--requeue-dependency=2s"],
    }
    for controller in CONTROLLERS:
        processes.start(process_name(controller), [
            build.binary(controller), *common, *flags[controller],
            f"--metrics-addr=127.0.0.1:{_free_port()}", f"--health-addr=127.0.0.1:{_free_port()}"],
            env={"KUBECONFIG": str(kubeconfig), "RUNTIME_NAMESPACE": namespace})


def running() -> bool:
    return all(processes.running_pid(process_name(controller)) for controller in CONTROLLERS)


def stop() -> None:
    for controller in reversed(CONTROLLERS):
        processes.stop(process_name(controller))


def log_tail(lines: int = 40) -> str:
    return "\n".join(f"--- {controller}\n{processes.tail(process_name(controller), lines)}"
                     for controller in CONTROLLERS)
