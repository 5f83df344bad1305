"""Helm release records built the way Helm's storage drivers write them: the release as JSON, gzipped, in
base64 text; a Secret's data is base64 once more (the API's encoding), a ConfigMap's is the text. Shared by the
--helm-release and --flux-helmrelease tests."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from gate.kinds import BUILTIN_RESOURCES, Resource

NS = "shop"
SECRETS, CONFIGMAPS = BUILTIN_RESOURCES["Secret"], BUILTIN_RESOURCES["ConfigMap"]
MANIFEST = """---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
    tier: backend
  ports:
  - port: 80
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: other
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: busybox:1.36}]
"""
SAME_NAMESPACE = MANIFEST.replace("  namespace: other\n", "")  # the incident: the pods lack tier=backend
HOOK = {"name": "migrate", "kind": "Job", "path": "web/templates/migrate-job.yaml",
        "manifest": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n", "events": ["pre-upgrade"],
        "last_run": {"phase": "Succeeded"}}


def release(revision: int = 1, status: str = "deployed", description: str = "Install complete",
            **extra: Any) -> dict[str, Any]:
    return {"name": "web", "namespace": NS, "version": revision, "manifest": MANIFEST, "hooks": [HOOK],
            "info": {"status": status, "description": description}, "chart": {"metadata": {"name": "web"}}, **extra}


def helm_text(document: Any, compress: bool = True) -> str:
    raw = json.dumps(document).encode()
    return base64.b64encode(gzip.compress(raw, mtime=0) if compress else raw).decode()


def record(document: dict[str, Any], storage: Resource = SECRETS, text: str | None = None,
           version: str | None = None) -> dict[str, Any]:
    """A storage object as the API returns it (a Secret's data base64-encoded by the API)."""
    text = helm_text(document) if text is None else text
    revision = version or str(document.get("version"))
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": storage.kind, "metadata": {
        "name": f"sh.helm.release.v1.web.v{revision}", "namespace": NS,
        "labels": {"owner": "helm", "name": "web", "status": "x", "version": revision}}}
    if storage is SECRETS:
        obj["type"] = "helm.sh/release.v1"
        obj["data"] = {"release": base64.b64encode(text.encode()).decode()}
    else:
        obj["data"] = {"release": text}
    return obj


class StorageCluster:
    """Lists the records it holds; remembers what it was asked."""

    server = "https://127.0.0.1:1"

    def __init__(self, *records: dict[str, Any]) -> None:
        self.records, self.asked, self.namespace = list(records), [], NS

    def __call__(self, kubeconfig: str | None, context: str | None, request_seconds: float | None = None
                 ) -> StorageCluster:
        return self

    def time_left(self) -> float | None:
        return None  # no --timeout in these runs

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Any], str]:
        self.asked.append((resource.kind, namespace, label_selector))
        return [r for r in self.records if r["kind"] == resource.kind], "1"
