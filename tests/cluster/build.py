"""Build the cluster's Go binaries from their pinned modules, cached by content.

A cache entry is keyed by the Go version, the module's files and the build
flags, so a changed pin rebuilds and an unchanged one costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.cluster import config


def _version_ldflags() -> list[str]:
    """The -X flags that upstream's build sets, so components report their real version."""
    major, minor = config.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={config.KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return flags


def _ldflags(module: config.GoModule) -> str:
    flags = ["-s", "-w"]
    if module.directory == "kube":
        flags += _version_ldflags()
    return " ".join(flags)


def go_env() -> dict[str, str]:
    # CGO off: static binaries (agnhost runs inside images) sharing one build cache.
    return {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}


def _cache_key(module: config.GoModule) -> str:
    digest = hashlib.sha256()
    go_version = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout
    digest.update(go_version.encode())
    digest.update(_ldflags(module).encode())
    module_dir = module.root / module.directory
    for path in sorted(module_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def module_bin_dir(module: config.GoModule) -> Path:
    return config.BIN_CACHE / f"{module.directory}-{_cache_key(module)}"


def build_module(module: config.GoModule, log: Callable[[str], None]) -> dict[str, Path]:
    """Build (or reuse) every binary of one module; return name -> path."""
    out_dir = module_bin_dir(module)
    binaries = {name: out_dir / name for name in module.packages}
    binaries.update({alias: out_dir / alias for alias in module.aliases})
    if all(path.exists() for path in binaries.values()):
        return binaries
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, package in module.packages.items():
        if binaries[name].exists():
            continue
        started = time.monotonic()
        log(f"building {name} from {module.root.name}/{module.directory} (cold builds take minutes)")
        partial = out_dir / f".{name}.partial"
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags", _ldflags(module), "-o", str(partial), package],
            cwd=module.root / module.directory,
            env=go_env(),
            check=True,
        )
        partial.rename(binaries[name])
        log(f"built {name} in {time.monotonic() - started:.0f} s")
    for alias, target in module.aliases.items():
        if not binaries[alias].exists():
            binaries[alias].symlink_to(target)
    return binaries


def build_all(log: Callable[[str], None] = print) -> dict[str, Path]:
    """Build every module; remove cache entries of older pins of the same module."""
    binaries: dict[str, Path] = {}
    for module in config.GO_MODULES:
        binaries.update(build_module(module, log))
        keep = module_bin_dir(module)
        for stale in config.BIN_CACHE.glob(f"{module.directory}-*"):
            if stale != keep and stale.name.rsplit("-", 1)[0] == module.directory:
                shutil.rmtree(stale, ignore_errors=True)
    return binaries


def binary(name: str, log: Callable[[str], None] = print) -> Path:
    """One binary by name (its module built if needed), for a test or the benchmark that runs one tool."""
    module = next(m for m in config.GO_MODULES if name in m.packages or name in m.aliases)
    return build_module(module, log)[name]
