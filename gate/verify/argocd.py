"""The touched set of an Argo CD Application: its status.resources (for PostSync hooks).

Argo CD records every resource the Application manages, with group, version,
kind, namespace and name; a PostSync hook runs after they were applied.
"""

from __future__ import annotations

from gate.cluster import Cluster
from gate.errors import ClusterError, ManifestError, UsageError
from gate.kinds import KINDS
from gate.objects import ObjectRef, dig, kind_group
from gate.schema import ARGOCD_APPLICATION, validate_live
from gate.verify.engine import Touched

APPLICATIONS = KINDS[("argoproj.io", "Application")].resource


def application_resources(cluster: Cluster, name: str, namespace: str) -> list[Touched]:
    try:
        cluster.resource_for(APPLICATIONS.kind, APPLICATIONS.api_version, "--argocd-app")
    except ManifestError as error:
        raise ClusterError("the cluster does not serve argoproj.io/v1alpha1 Applications "
                           "(is Argo CD installed?)") from error
    application = cluster.get(APPLICATIONS, namespace, name)
    if application is None:
        raise UsageError(f"--argocd-app: no Application {name!r} in namespace {namespace}")
    validate_live(application, APPLICATIONS.kind, ARGOCD_APPLICATION)
    touched = []
    for entry in dig(application, "status", "resources") or []:
        group, version, kind = entry.get("group") or "", entry.get("version") or "v1", entry.get("kind") or ""
        api_version = f"{group}/{version}" if group else version
        touched.append(Touched(ObjectRef(kind, entry.get("namespace") or None, entry.get("name") or "",
                                         kind_group(kind, api_version)), api_version))
    if not touched:
        raise UsageError(f"--argocd-app: Application {namespace}/{name} lists no resources in status.resources "
                         "(has it synced?)")
    return touched
