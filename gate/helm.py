"""The touched set of a Helm release: the manifest of its latest revision, as Helm stored it.

Helm 3 and Helm 4 (and Flux's helm-controller, which uses Helm's storage) keep
one record per revision in the release's namespace: a Secret of type
`helm.sh/release.v1` (the default driver) or a ConfigMap (`HELM_DRIVER=configmap`),
named `sh.helm.release.v1.<name>.v<revision>`, labelled `owner=helm`,
`name=<release>`, `status` and `version`. Its `release` entry is the release
as JSON, gzipped, in base64 text (the API's own base64 of Secret data comes on
top). The record is read as untrusted input: its size is capped before and
after decompression, and its shape is checked before anything reads it.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.cluster import Cluster, LimitExceeded, MalformedAnswer, limit, parse_json
from gate.errors import ManifestError, UsageError
from gate.findings import Finding, Outcome, Phase
from gate.kinds import BUILTIN_RESOURCES, Resource
from gate.manifests import Manifest, helm_stream
from gate.objects import ObjectRef
from gate.verify.engine import Touched

DRIVER_VARIABLE = "HELM_DRIVER"
# HELM_DRIVER's values naming the Kubernetes drivers (helm's action.Configuration.Init), and what they store in.
DRIVERS = {"": "Secret", "secret": "Secret", "secrets": "Secret", "configmap": "ConfigMap", "configmaps": "ConfigMap"}
SECRET_TYPE = "helm.sh/release.v1"
GZIP_MAGIC = b"\x1f\x8b\x08"
DEPLOYED = "deployed"
# Every status a revision can have (helm's pkg/release/common Status); only `deployed` is a finished, good one.
STATUSES = frozenset({"unknown", DEPLOYED, "uninstalled", "superseded", "failed", "uninstalling",
                      "pending-install", "pending-upgrade", "pending-rollback"})
RULE = "helm-release"
JSON_TYPES = {str: "a string", int: "a number", dict: "an object", list: "a list", bool: "a boolean",
              type(None): "null", float: "a number"}


class MalformedRelease(MalformedAnswer):
    """A release record that is not what Helm writes: the run cannot verify it (exit 3)."""


@dataclass(frozen=True)
class Release:
    """The parts of a revision's record that verify reads."""

    name: str
    namespace: str  # the release's own namespace: objects that name none are there
    revision: int
    status: str
    description: str
    manifest: str
    hooks: tuple[str, ...]  # each hook's template path (hooks are not in the manifest)
    record: str  # `secret/sh.helm.release.v1.web.v3 in namespace shop`, for messages

    @property
    def deployed(self) -> bool:
        return self.status == DEPLOYED

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Release", self.namespace, self.name, "helm.sh")


def storage_resource(environ: Mapping[str, str]) -> Resource:
    """The kind Helm stores releases in, from HELM_DRIVER as helm reads it; other drivers are exit 2."""
    driver = environ.get(DRIVER_VARIABLE, "")
    if driver not in DRIVERS:
        raise UsageError(f"{DRIVER_VARIABLE}={driver!r}: --helm-release reads releases Helm stores in the cluster "
                         f"(secret, the default, or configmap), not in {driver or 'it'}")
    return BUILTIN_RESOURCES[DRIVERS[driver]]


def latest_release(cluster: Cluster, name: str, namespace: str, storage: Resource) -> Release:
    """The release's latest revision: the highest `version` among its records (as `helm history` orders them)."""
    release = find_release(cluster, name, namespace, storage)
    if release is None:
        raise UsageError(f"--helm-release: no Helm release {name!r} in namespace {namespace} (no "
                         f"{storage.plural} labelled owner=helm,name={name}; HELM_DRIVER selects "
                         f"{storage.plural}); is -n the release's namespace?")
    return release


def find_release(cluster: Cluster, name: str, namespace: str, storage: Resource) -> Release | None:
    """The latest revision of release `name` stored in `namespace`, or None when it has no record there."""
    records, _ = cluster.list(storage, namespace, label_selector=f"owner=helm,name={name}")
    revisions = [(revision, record) for record in records
                 if (revision := _revision(record, storage)) is not None]
    if not revisions:
        return None
    revision, record = max(revisions, key=lambda pair: pair[0])
    where = f"{storage.kind.lower()}/{record['metadata'].get('name')} in namespace {namespace}"
    return decode_release(release_text(record, storage, where), where, revision)


def _revision(record: Any, storage: Resource) -> int | None:
    """A record's revision from its `version` label; None for what is not a Helm record of this kind."""
    metadata = record.get("metadata") if isinstance(record, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    version = labels.get("version") if isinstance(labels, dict) else None
    if storage.kind == "Secret" and record.get("type") != SECRET_TYPE:
        return None
    return int(version) if isinstance(version, str) and version.isascii() and version.isdigit() and \
        len(version) <= 9 else None


def release_text(record: dict[str, Any], storage: Resource, where: str) -> str:
    """The `release` entry as Helm wrote it (base64 text); a Secret's data is base64 once more, by the API."""
    data = record.get("data")
    value = data.get("release") if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise MalformedRelease(f"could not verify: {where}: no data.release entry; not a Helm release record")
    if storage.kind == "Secret":
        return _ascii(_base64(value, where, "data.release"), where)
    return value


def _base64(text: str, where: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedRelease(f"could not verify: {where}: {what} is not base64 ({error})") from None


def _ascii(data: bytes, where: str) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRelease(f"could not verify: {where}: data.release is not Helm's base64 text") from None


def inflate(data: bytes, where: str) -> bytes:
    """gzip data decompressed to at most DEPLOY_GATE_MAX_RESPONSE_BYTES: a gzip bomb ends the run, not the host."""
    most = limit("DEPLOY_GATE_MAX_RESPONSE_BYTES")
    decompressor = zlib.decompressobj(wbits=31)  # 31: gzip framing
    try:
        plain = decompressor.decompress(data, most + 1)
    except zlib.error as error:
        raise MalformedRelease(f"could not verify: {where}: the release is not valid gzip ({error})") from None
    if len(plain) > most:
        raise LimitExceeded(f"could not verify: {where}: the release decompresses to more than "
                            f"DEPLOY_GATE_MAX_RESPONSE_BYTES={most} bytes")
    if not decompressor.eof:
        raise MalformedRelease(f"could not verify: {where}: the release's gzip stream is cut short")
    return plain


def decode_release(text: str, where: str, revision: int) -> Release:
    """A release from Helm's record text: base64, then gzip (records from before Helm compressed are plain JSON)."""
    data = _base64(text, where, "the release")
    if data.startswith(GZIP_MAGIC):
        data = inflate(data, where)
    elif len(data) > limit("DEPLOY_GATE_MAX_RESPONSE_BYTES"):
        raise LimitExceeded(f"could not verify: {where}: the release is larger than DEPLOY_GATE_MAX_RESPONSE_BYTES")
    document = parse_json(data, f"{where}: the release")
    if not isinstance(document, dict):
        raise MalformedRelease(f"could not verify: {where}: the release is not a JSON object")
    return _release(document, where, revision)


def _field(document: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = document.get(key, default)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedRelease(f"could not verify: {where}: release field {key!r}: expected {JSON_TYPES[kind]}, "
                               f"got {JSON_TYPES.get(type(value), type(value).__name__)}")
    return value


def _release(document: dict[str, Any], where: str, revision: int) -> Release:
    info = _field(document, "info", dict, where)
    status = _field(info, "status", str, where)
    if status not in STATUSES:
        raise MalformedRelease(f"could not verify: {where}: unknown release status {status[:40]!r}")
    version = _field(document, "version", int, where)
    if version != revision:
        raise MalformedRelease(f"could not verify: {where}: the record is labelled version {revision} but holds "
                               f"revision {version}")
    hooks = _field(document, "hooks", list, where, [])
    return Release(
        name=_field(document, "name", str, where),
        namespace=_field(document, "namespace", str, where),
        revision=version,
        status=status,
        description=_field(info, "description", str, where, ""),
        manifest=_field(document, "manifest", str, where, ""),
        hooks=tuple(str(hook.get("path") or hook.get("name") or "?") for hook in hooks if isinstance(hook, dict)),
        record=where,
    )


def release_manifests(release: Release) -> list[Manifest]:
    """The revision's objects, each located at the template Helm recorded (`# Source: web/templates/svc.yaml`)."""
    try:
        return helm_stream(release.manifest, f"helm release {release.name} revision {release.revision}")
    except ManifestError as error:
        raise MalformedRelease(f"could not verify: {release.record}: the release manifest: {error}") from None


def status_finding(release: Release) -> Finding:
    """Passed for a deployed revision; failed, in Helm's own words, for a failed, pending or uninstalled one."""
    title = f"helm release {release.name} revision {release.revision} is deployed"
    described = f": {release.description}" if release.description else ""
    if release.deployed:
        return Finding(Phase.ROLLOUTS, RULE, release.ref, title, Outcome.PASSED,
                       f"helm release {release.name} revision {release.revision}: {DEPLOYED}{described}")
    waiting = " (Helm has not finished it, or was stopped before it did)" if release.status.startswith("pending") \
        else ""
    return Finding(Phase.ROLLOUTS, RULE, release.ref, title, Outcome.FAILED,
                   f"helm release {release.name} revision {release.revision} is {release.status}{waiting}"
                   f"{described}", evidence=(f"record: {release.record}",),
                   fix=(f"helm history {release.name} -n {release.namespace}",))


def hooks_note(release: Release) -> str | None:
    """Hooks are not in the manifest and not verified: they ran (or not) within helm's own command."""
    if not release.hooks:
        return None
    return (f"helm release {release.name}: {len(release.hooks)} hook(s) not verified (hooks are not part of the "
            f"release manifest; helm ran them): {', '.join(sorted(set(release.hooks)))}")



def release_touched(release: Release | None) -> list[Touched]:
    """The touched set of a deployed revision: its manifest's objects, in the release's namespace when they
    name none. A failed or unfinished revision adds nothing: verify reports Helm's verdict instead."""
    if release is None or not release.deployed:
        return []
    return [Touched.of(m, release.namespace) for m in release_manifests(release)]


def release_findings(release: Release | None) -> tuple[list[Finding], tuple[str, ...]]:
    """The release's own check and the note on its hooks (none without --helm-release)."""
    if release is None:
        return [], ()
    return [status_finding(release)], tuple(note for note in (hooks_note(release),) if note)
