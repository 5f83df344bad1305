"""Plain Kubernetes objects (dicts, as in YAML or the API's JSON): identity, kinds, pod templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]

# Built-in kinds by apiVersion, as served by Kubernetes 1.29+. An apiVersion of a
# built-in group that is not listed here (a typo, or a removed beta) is an error;
# any other group belongs to a CRD and is accepted.
BUILTIN_KINDS: dict[str, frozenset[str]] = {
    "v1": frozenset({
        "Binding", "ComponentStatus", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node",
        "PersistentVolume", "PersistentVolumeClaim", "Pod", "PodTemplate", "ReplicationController",
        "ResourceQuota", "Secret", "Service", "ServiceAccount", "List",
    }),
    "apps/v1": frozenset({"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"}),
    "batch/v1": frozenset({"CronJob", "Job"}),
    "autoscaling/v1": frozenset({"HorizontalPodAutoscaler"}),
    "autoscaling/v2": frozenset({"HorizontalPodAutoscaler"}),
    "policy/v1": frozenset({"PodDisruptionBudget"}),
    "networking.k8s.io/v1": frozenset({"Ingress", "IngressClass", "NetworkPolicy"}),
    "discovery.k8s.io/v1": frozenset({"EndpointSlice"}),
    "rbac.authorization.k8s.io/v1": frozenset({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}),
    "storage.k8s.io/v1": frozenset({"CSIDriver", "CSINode", "CSIStorageCapacity", "StorageClass", "VolumeAttachment"}),
    "scheduling.k8s.io/v1": frozenset({"PriorityClass"}),
    "coordination.k8s.io/v1": frozenset({"Lease"}),
    "node.k8s.io/v1": frozenset({"RuntimeClass"}),
    "events.k8s.io/v1": frozenset({"Event"}),
    "certificates.k8s.io/v1": frozenset({"CertificateSigningRequest"}),
    "apiextensions.k8s.io/v1": frozenset({"CustomResourceDefinition"}),
    "apiregistration.k8s.io/v1": frozenset({"APIService"}),
    "admissionregistration.k8s.io/v1": frozenset({
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }),
    "flowcontrol.apiserver.k8s.io/v1": frozenset({"FlowSchema", "PriorityLevelConfiguration"}),
}
BUILTIN_GROUPS = frozenset(version.rsplit("/", 1)[0] if "/" in version else "" for version in BUILTIN_KINDS) | {
    "extensions", "apps", "batch"}
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ComponentStatus", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "PriorityClass",
    "RuntimeClass", "IngressClass", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "FlowSchema", "PriorityLevelConfiguration", "CertificateSigningRequest",
})
# Where each workload kind keeps its pod template.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
WORKLOAD_KINDS = frozenset(POD_TEMPLATE_PATHS)


def api_group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def unknown_kind_problem(api_version: str, kind: str, crd_kinds: set[tuple[str, str]]) -> str | None:
    """Why (api_version, kind) cannot be a real object, or None when it can.

    crd_kinds holds (group, kind) pairs defined by CustomResourceDefinitions in the same set.
    """
    group = api_group(api_version)
    if (group, kind) in crd_kinds:
        return None
    if api_version in BUILTIN_KINDS:
        if kind in BUILTIN_KINDS[api_version]:
            return None
        return f"unknown kind {kind!r} for apiVersion {api_version}"
    if group in BUILTIN_GROUPS:
        served = sorted(v for v in BUILTIN_KINDS if api_group(v) == group)
        hint = f" (served: {', '.join(served)})" if served else ""
        return f"apiVersion {api_version} is not served by Kubernetes{hint}"
    return None


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which object: kind, namespace (None for cluster-scoped), name."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def qualified(self) -> str:
        """kind/name plus the namespace, for messages that span namespaces."""
        return f"{self} in namespace {self.namespace}" if self.namespace else str(self)


def ref_of(obj: Object, default_namespace: str = "default") -> ObjectRef:
    kind = obj.get("kind", "")
    metadata = obj.get("metadata") or {}
    namespace = None if kind in CLUSTER_SCOPED_KINDS else (metadata.get("namespace") or default_namespace)
    return ObjectRef(kind, namespace, metadata.get("name", ""))


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]…, or None where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def pod_template(obj: Object) -> Object | None:
    """The pod template of a workload (a Pod is its own template), or None for other kinds."""
    path = POD_TEMPLATE_PATHS.get(obj.get("kind", ""))
    if path is None:
        return None
    template = dig(obj, *path) if path else obj
    return template if isinstance(template, dict) else None


def template_labels(obj: Object) -> dict[str, str]:
    template = pod_template(obj) or {}
    labels = dig(template, "metadata", "labels") or {}
    return {str(key): str(value) for key, value in labels.items()} if isinstance(labels, dict) else {}


def template_labels_path(obj: Object) -> tuple[str, ...]:
    """Where the template's labels live (for file:line and for the JSON patch path)."""
    return (*POD_TEMPLATE_PATHS.get(obj.get("kind", ""), ()), "metadata", "labels")


def containers(pod_spec_owner: Object) -> list[Object]:
    """The (regular) containers of a pod or pod template."""
    found = dig(pod_spec_owner, "spec", "containers")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []
