"""Build OCI images from local binaries and import them into containerd.

There is no registry here, so every image the cluster runs is assembled from
files on this machine: Debian's busybox-static (a shell, nc, httpd, nslookup),
agnhost (Kubernetes' own test tool, also the pod sandbox's `pause`), CoreDNS,
and deploy-gate itself (a Debian 12 root filesystem from mmdebstrap with this
checkout installed). Harness-only tags live under `deploy-gate.local/`, which
no registry serves. The images the examples name (`busybox:1.36`, the hook's
`registry.example.com/deploy-gate:0.1.0`) are imported under exactly those
references, so with `imagePullPolicy: IfNotPresent` the test cluster never
contacts a registry while a user's cluster pulls them.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import config

BUSYBOX_BINARY = Path("/bin/busybox")  # Debian package busybox-static
_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnobody:x:65534:\n",
    "etc/nsswitch.conf": "hosts: files dns\n",
}


@dataclass(frozen=True)
class Image:
    """One image: its tag, its single layer's files and its entrypoint."""

    tag: str
    files: dict[str, Path]  # path in the image -> file on this machine
    entrypoint: list[str]
    command: list[str]
    symlinks: dict[str, str]  # path in the image -> link target


def _busybox_applets() -> dict[str, str]:
    """Every applet path busybox knows (usr/bin/nc …) linked to /bin/busybox."""
    listing = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], capture_output=True, text=True, check=True)
    return {path: "/bin/busybox" for path in listing.stdout.split() if path != "bin/busybox"}


def cluster_images(binaries: dict[str, Path]) -> list[Image]:
    busybox_files = {"bin/busybox": BUSYBOX_BINARY, "agnhost": binaries["agnhost"]}
    applets = _busybox_applets()
    return [
        Image(config.BUSYBOX_IMAGE, busybox_files, [], ["/bin/sh"], applets),
        Image(config.PAUSE_IMAGE, busybox_files, ["/agnhost", "pause"], [], applets),
        Image(config.COREDNS_IMAGE, {"coredns": binaries["coredns"]}, ["/coredns"], [], {}),
    ]


def _add_entry(archive: tarfile.TarFile, info: tarfile.TarInfo, data: bytes | None = None) -> None:
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    archive.addfile(info, io.BytesIO(data) if data is not None else None)


def _layer(image: Image) -> bytes:
    """A reproducible tar of the image's files (same input, same digest)."""
    buffer = io.BytesIO()
    entries: dict[str, tuple[str, object]] = {}
    for path, source in image.files.items():
        entries[path] = ("file", source)
    for path, target in image.symlinks.items():
        entries.setdefault(path, ("link", target))
    for path, text in _ETC_FILES.items():
        entries[path] = ("text", text)
    directories = {"tmp", "root", "proc", "sys", "dev", "etc", "var", "run"}
    for path in entries:
        parts = path.split("/")[:-1]
        directories.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            _add_entry(archive, info)
        for path, (kind, value) in sorted(entries.items()):
            info = tarfile.TarInfo(path)
            if kind == "link":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, str(value), 0o777
                _add_entry(archive, info)
                continue
            data = Path(value).read_bytes() if kind == "file" else str(value).encode()
            info.size, info.mode = len(data), 0o755 if kind == "file" else 0o644
            _add_entry(archive, info, data)
    return buffer.getvalue()


def _blob(archive: tarfile.TarFile, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest.split(":")[1])
    info.size = len(data)
    _add_entry(archive, info, data)
    return digest


def write_oci_archive(image: Image, destination: Path) -> None:
    """Write an OCI image layout tar of one image assembled from files."""
    _write_oci_layout(image.tag, _layer(image), {"Env": [_PATH_ENV], "Entrypoint": image.entrypoint or None,
                                                 "Cmd": image.command or None}, destination)


def _write_oci_layout(tag: str, layer: bytes, runtime: dict[str, object], destination: Path) -> None:
    """Write an OCI image layout tar with one layer that `ctr images import` accepts."""
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(destination, "w") as archive:
        _blob(archive, layer)
        config_bytes = json.dumps(image_config, sort_keys=True).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _blob(archive, config_bytes),
                "size": len(config_bytes),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}
            ],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _blob(archive, manifest_bytes),
                    "size": len(manifest_bytes),
                    "annotations": {"io.containerd.image.name": tag,
                                    "org.opencontainers.image.ref.name": tag},
                }
            ],
        }
        layout = b'{"imageLayoutVersion":"1.0.0"}'
        for name, data in (("oci-layout", layout), ("index.json", json.dumps(index).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            _add_entry(archive, info, data)


# deploy-gate's image: what examples/argocd/Dockerfile builds with Docker, in the same layout (the package and
# its dependencies in one directory on PYTHONPATH, `python3 -m gate` as the entrypoint, uid 10001), from
# Debian 12's Python 3.11 instead of python:3.11-slim.
DEPLOY_GATE_LIB = "/opt/deploy-gate/lib"
DEPLOY_GATE_UID = 10001
_ROOT = config.HARNESS_DIR.parent.parent
_MMDEBSTRAP = ["mmdebstrap", "--variant=essential", "--include=python3-minimal,libpython3.11-stdlib",
               "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
               "--dpkgopt=path-exclude=/usr/share/locale/*", "--aptopt=Acquire::Retries 3"]
_ACCOUNT_HOOK = (f'echo "deploy-gate:x:{DEPLOY_GATE_UID}:{DEPLOY_GATE_UID}:deploy-gate:/nonexistent:/usr/sbin/nologin"'
                 f' >> "$1/etc/passwd" && echo "deploy-gate:x:{DEPLOY_GATE_UID}:" >> "$1/etc/group"')


def _deploy_gate_sources() -> str:
    """A digest of everything the image installs from this checkout, and of how it is built."""
    digest = hashlib.sha256(json.dumps([_MMDEBSTRAP, _ACCOUNT_HOOK, DEPLOY_GATE_LIB]).encode())
    for path in sorted([_ROOT / "pyproject.toml", *(_ROOT / "gate").rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def deploy_gate_archive(log: Callable[[str], None]) -> Path:
    """Build (or reuse) deploy-gate's image from this checkout, without a Docker daemon.

    mmdebstrap makes the root filesystem from Debian's packages; the checkout and its dependencies are
    installed from wheels into DEPLOY_GATE_LIB and compiled there, since the hook's root filesystem is
    read-only at runtime. No shell runs at runtime: the entrypoint is exec-form Python.
    """
    archive = config.IMAGE_CACHE / f"deploy-gate-{_deploy_gate_sources()}.tar"
    if archive.exists():
        return archive
    if shutil.which("mmdebstrap") is None:
        raise FileNotFoundError("mmdebstrap is not installed (Debian package mmdebstrap): .ci/run installs it")
    log("building deploy-gate's image with mmdebstrap (about 2 minutes)")
    with tempfile.TemporaryDirectory(prefix="deploy-gate-image-") as work:
        wheels, rootfs = Path(work) / "wheels", Path(work) / "rootfs.tar"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                        "--wheel-dir", str(wheels), str(_ROOT)], check=True)
        install = (f'{sys.executable} -m pip install --quiet --disable-pip-version-check --no-index --no-deps '
                   f'--no-compile --target "$1{DEPLOY_GATE_LIB}" {wheels}/*.whl'
                   f' && chroot "$1" python3 -m compileall -q "{DEPLOY_GATE_LIB}" && rm -rf "$1{DEPLOY_GATE_LIB}/bin"')
        subprocess.run([*_MMDEBSTRAP, f"--customize-hook={install}", f"--customize-hook={_ACCOUNT_HOOK}",
                        "bookworm", str(rootfs)], check=True, capture_output=True, text=True)
        _write_oci_layout(config.DEPLOY_GATE_IMAGE, rootfs.read_bytes(), {
            "Env": [_PATH_ENV, f"PYTHONPATH={DEPLOY_GATE_LIB}", "PYTHONDONTWRITEBYTECODE=1"],
            "Entrypoint": ["python3", "-m", "gate"], "User": f"{DEPLOY_GATE_UID}:{DEPLOY_GATE_UID}",
            "WorkingDir": "/"}, archive)
    for stale in config.IMAGE_CACHE.glob("deploy-gate-*.tar"):
        if stale != archive:
            stale.unlink()
    return archive


def import_images(binaries: dict[str, Path], ctr: list[str], log: Callable[[str], None]) -> list[str]:
    """Write each image's archive and import it into containerd's k8s.io namespace (the CRI's)."""
    archives = {}
    for image in cluster_images(binaries):
        archive = config.IMAGE_CACHE / (image.tag.replace("/", "_").replace(":", "_") + ".tar")
        write_oci_archive(image, archive)
        archives[image.tag] = archive
    archives[config.DEPLOY_GATE_IMAGE] = deploy_gate_archive(log)
    for archive in archives.values():
        subprocess.run([*ctr, "--namespace", "k8s.io", "images", "import", str(archive)],
                       check=True, capture_output=True, text=True)
    return list(archives)
