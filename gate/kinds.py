"""Everything deploy-gate knows about Kubernetes kinds, in one table.

A new kind is one entry in `KINDS`: where it lives in the API, its short names,
where its pod template is, which labels its controller adds to the pods it
creates, whether it has anything to roll out, and what its verify check reads.
Every command asks this module; no other module keeps a list of kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API: group, version, plural."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """How RBAC and kubectl name it: plural.group ('deployments.apps', 'pods')."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        return base + (f"/{quote(name)}" if name else "")


@dataclass(frozen=True)
class ControllerLabel:
    """A label a controller puts on every pod it creates, whatever the template says.

    `value` is a regular expression; `{name}` stands for the workload's name
    (a StatefulSet's pods are `<name>-<ordinal>`), `.+` for a value nobody can
    know before the controller runs (a hash, a uid).
    """

    key: str
    value: str = ".+"

    def may_be(self, value: str, workload_name: str) -> bool:
        pattern = self.value.replace("{name}", re.escape(workload_name))
        return re.fullmatch(pattern, value) is not None


ANY_VALUE = ".+"
ORDINAL = r"\d+"


@dataclass(frozen=True)
class Kind:
    """What deploy-gate knows of one kind."""

    resource: Resource
    other_versions: tuple[str, ...] = ()  # further apiVersions the API server serves it under
    short_names: tuple[str, ...] = ()  # kubectl's short names, for callers written as `deploy/x`
    template: tuple[str, ...] | None = None  # where its pod template is; () for a Pod; None: no pods
    selector_must_match: bool = False  # apps/v1: the API server rejects a selector missing the template
    rolls_out: bool = True  # False: exists once applied, nothing to wait for
    controller_labels: tuple[ControllerLabel, ...] = ()
    # Kinds its verify check reads besides itself. A passing rollout reads the object alone: the others only
    # explain a pending or failed one (its pods' problems), so verify lists them only there.
    reads: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.resource.kind

    @property
    def api_versions(self) -> tuple[str, ...]:
        return (self.resource.api_version, *self.other_versions)


_STATIC = {"rolls_out": False}
# What an endpoints check reads: the Service and its EndpointSlices, which alone decide a pass, and the pods
# with their owners, which explain a failure (name the workload whose template lacks a label).
ENDPOINT_PASS_READS = ("Service", "EndpointSlice")
_ENDPOINT_READS = (*ENDPOINT_PASS_READS, "Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job")
_JOB_LABELS = (ControllerLabel("batch.kubernetes.io/job-name", "{name}"), ControllerLabel("job-name", "{name}"),
               ControllerLabel("batch.kubernetes.io/controller-uid"), ControllerLabel("controller-uid"),
               ControllerLabel("batch.kubernetes.io/job-completion-index", ORDINAL))


# Beta and alpha versions that Kubernetes 1.30-1.34 serves (an alpha or beta only when the cluster enables it):
# valid manifests there, so never "not served". Checked against k8s.io/api by tests/upstream.
_ADMISSION_PREVIEWS = ("admissionregistration.k8s.io/v1beta1", "admissionregistration.k8s.io/v1alpha1")


def _core(kind: str, plural: str, **facts: object) -> Kind:
    return Kind(Resource(kind, "", "v1", plural, bool(facts.pop("namespaced", True))), **facts)  # type: ignore[arg-type]


def _in(group: str, version: str, kind: str, plural: str, **facts: object) -> Kind:
    namespaced = bool(facts.pop("namespaced", True))
    return Kind(Resource(kind, group, version, plural, namespaced), **facts)  # type: ignore[arg-type]


KINDS: dict[str, Kind] = {k.name: k for k in (
    _core("Pod", "pods", short_names=("po",), template=(), reads=("Pod",)),
    _core("Service", "services", short_names=("svc",), rolls_out=False, reads=_ENDPOINT_READS),
    _core("Namespace", "namespaces", short_names=("ns",), namespaced=False, **_STATIC),
    _core("Event", "events", short_names=("ev",), other_versions=("events.k8s.io/v1",), **_STATIC),
    _core("ConfigMap", "configmaps", short_names=("cm",), **_STATIC),
    _core("Secret", "secrets", **_STATIC),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",), **_STATIC),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",)),
    _core("PersistentVolume", "persistentvolumes", short_names=("pv",), namespaced=False),
    _core("ReplicationController", "replicationcontrollers", short_names=("rc",), template=("spec", "template"),
          reads=("Pod",)),
    _core("Endpoints", "endpoints", short_names=("ep",), **_STATIC),
    _core("LimitRange", "limitranges", short_names=("limits",), **_STATIC),
    _core("ResourceQuota", "resourcequotas", short_names=("quota",), **_STATIC),
    _core("PodTemplate", "podtemplates", **_STATIC),
    _core("Binding", "bindings", **_STATIC),
    _core("ComponentStatus", "componentstatuses", short_names=("cs",), namespaced=False, **_STATIC),
    _core("Node", "nodes", short_names=("no",), namespaced=False),
    _core("List", "lists", **_STATIC),  # kubectl's wrapper; its items are read one by one
    _in("apps", "v1", "Deployment", "deployments", short_names=("deploy",), template=("spec", "template"),
        selector_must_match=True, controller_labels=(ControllerLabel("pod-template-hash"),),
        reads=("ReplicaSet", "Pod")),
    _in("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), template=("spec", "template"),
        selector_must_match=True, reads=("Pod",), controller_labels=(
            ControllerLabel("controller-revision-hash"),
            ControllerLabel("statefulset.kubernetes.io/pod-name", "{name}-" + ORDINAL),
            ControllerLabel("apps.kubernetes.io/pod-index", ORDINAL))),
    _in("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), template=("spec", "template"),
        selector_must_match=True, reads=("Pod",), controller_labels=(
            ControllerLabel("controller-revision-hash"), ControllerLabel("pod-template-generation", ORDINAL))),
    _in("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), template=("spec", "template"),
        selector_must_match=True, reads=("Pod",)),
    _in("apps", "v1", "ControllerRevision", "controllerrevisions", **_STATIC),
    _in("batch", "v1", "Job", "jobs", template=("spec", "template"), controller_labels=_JOB_LABELS,
        reads=("Pod",)),
    _in("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), template=("spec", "jobTemplate", "spec", "template"),
        reads=("Job", "Pod"), controller_labels=tuple(
            ControllerLabel(label.key, "{name}-" + ORDINAL) if label.value == "{name}" else label
            for label in _JOB_LABELS)),
    _in("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", other_versions=("autoscaling/v1",),
        short_names=("hpa",)),
    _in("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",), **_STATIC),
    _in("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",), **_STATIC),
    _in("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",)),
    _in("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False, **_STATIC),
    _in("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", namespaced=False, **_STATIC,
        other_versions=("networking.k8s.io/v1beta1", "networking.k8s.io/v1alpha1")),
    _in("networking.k8s.io", "v1", "IPAddress", "ipaddresses", namespaced=False, **_STATIC,
        other_versions=("networking.k8s.io/v1beta1", "networking.k8s.io/v1alpha1")),
    _in("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", **_STATIC),
    _in("rbac.authorization.k8s.io", "v1", "Role", "roles", **_STATIC),
    _in("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", **_STATIC),
    _in("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False, **_STATIC),
    _in("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False, **_STATIC),
    _in("storage.k8s.io", "v1", "StorageClass", "storageclasses", short_names=("sc",), namespaced=False, **_STATIC),
    _in("storage.k8s.io", "v1", "CSIDriver", "csidrivers", namespaced=False),
    _in("storage.k8s.io", "v1", "CSINode", "csinodes", namespaced=False),
    _in("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities"),
    _in("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", namespaced=False),
    _in("storage.k8s.io", "v1", "VolumeAttributesClass", "volumeattributesclasses", namespaced=False, **_STATIC,
        other_versions=("storage.k8s.io/v1beta1", "storage.k8s.io/v1alpha1")),
    _in("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", short_names=("pc",), namespaced=False,
        **_STATIC),
    _in("coordination.k8s.io", "v1", "Lease", "leases"),
    _in("coordination.k8s.io", "v1beta1", "LeaseCandidate", "leasecandidates", **_STATIC,
        other_versions=("coordination.k8s.io/v1alpha2", "coordination.k8s.io/v1alpha1")),
    _in("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", namespaced=False, **_STATIC),
    _in("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", short_names=("csr",),
        namespaced=False),
    _in("certificates.k8s.io", "v1beta1", "ClusterTrustBundle", "clustertrustbundles", namespaced=False, **_STATIC,
        other_versions=("certificates.k8s.io/v1alpha1",)),
    _in("certificates.k8s.io", "v1alpha1", "PodCertificateRequest", "podcertificaterequests"),
    _in("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", short_names=("crd",),
        namespaced=False),
    _in("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False),
    _in("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
        namespaced=False),
    _in("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
        namespaced=False),
    _in("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
        namespaced=False, other_versions=_ADMISSION_PREVIEWS),
    _in("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings", namespaced=False, other_versions=_ADMISSION_PREVIEWS),
    _in("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicy", "mutatingadmissionpolicies",
        namespaced=False, other_versions=_ADMISSION_PREVIEWS[1:], **_STATIC),
    _in("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicyBinding",
        "mutatingadmissionpolicybindings", namespaced=False, other_versions=_ADMISSION_PREVIEWS[1:], **_STATIC),
    _in("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", namespaced=False,
        other_versions=("flowcontrol.apiserver.k8s.io/v1beta3",)),
    _in("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations",
        namespaced=False, other_versions=("flowcontrol.apiserver.k8s.io/v1beta3",)),
)}
# The Kubernetes (not CRD) API groups: an apiVersion in one of these that the table lacks is a typo or a
# removed beta, never a custom resource.
BUILTIN_GROUPS = frozenset(version.rpartition("/")[0] for k in KINDS.values() for version in k.api_versions) | {
    "extensions"}
BUILTIN_RESOURCES: dict[str, Resource] = {name: k.resource for name, k in KINDS.items() if name != "List"}
WORKLOAD_KINDS = frozenset(name for name, k in KINDS.items() if k.template is not None)
# Workload kinds whose spec.selector must keep matching their template (a relabel must not break it).
SELECTOR_KINDS = frozenset(name for name, k in KINDS.items() if k.selector_must_match)
# What a declared caller pair's static verdict reads from the cluster: the callers' and backends' templates,
# the Services and the policies.
PAIR_READS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "NetworkPolicy")
CONTROLLER_LABEL_KEYS = frozenset(label.key for k in KINDS.values() for label in k.controller_labels)
# How a kind may be written where a person names one: `deployment`, `deploy`, `Deployment`.
_ALIASES = {alias: name for name, k in KINDS.items() for alias in (name.lower(), k.resource.plural, *k.short_names)}


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


# apiVersions Kubernetes serves, by group: asked once per object, so computed once.
_SERVED: dict[str, list[str]] = {
    group: sorted({v for k in KINDS.values() for v in k.api_versions if api_group(v) == group})
    for group in {api_group(v) for k in KINDS.values() for v in k.api_versions}}


def kind_named(alias: str) -> str | None:
    """The kind a person (or `kubectl apply -o name`'s `deployment.apps`) means, or None."""
    return _ALIASES.get(alias.lower().split(".", 1)[0])


def is_builtin(api_version: str) -> bool:
    """Served by Kubernetes itself (as opposed to a CustomResourceDefinition)."""
    return api_group(api_version) in BUILTIN_GROUPS or api_version == "v1"


def kind_info(kind: str, api_version: str | None = None) -> Kind | None:
    """The table's entry for a built-in kind (None for a custom kind of the same name)."""
    found = KINDS.get(kind)
    if found is None or (api_version is not None and api_version not in found.api_versions):
        return None
    return found


def is_cluster_scoped(kind: str) -> bool:
    found = KINDS.get(kind)
    return found is not None and not found.resource.namespaced


def rolls_out(kind: str) -> bool:
    """Whether verify waits for the kind (unknown kinds do: kstatus' generic rules judge them)."""
    found = KINDS.get(kind)
    return found is None or found.rolls_out


# --- Custom resources that may create pods ---------------------------------------------------------------
# A custom resource whose operator may create pods (an operator's Prometheus, Kafka, ...) makes a Service that
# selects nothing in the set not checkable: its pods may come from there. Only what is known to create no pod
# a Service could be meant to select is listed, by API group AND kind; an unknown custom kind may create pods.
#
# Groups none of whose kinds creates pods: Istio's networking (its `Gateway` configures gateway pods deployed
# otherwise), security and telemetry config; cert-manager's certificates, issuers and ACME orders. The ACME
# HTTP-01 solver pods cert-manager runs for a challenge are selected only by the solver Service it creates
# itself, never by one in a manifest set. Flux's sources, Kustomizations, HelmReleases, alerts and image
# automation: what a Kustomization or HelmRelease applies are workloads of their own (as an Argo CD Application's).
NO_POD_GROUPS = frozenset({
    "networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io",
    "cert-manager.io", "acme.cert-manager.io",
    "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io",
})
# Single kinds of groups that also hold pod-creating kinds (monitoring.coreos.com's Prometheus and Alertmanager
# create StatefulSets; KEDA's ScaledJob creates Jobs).
NO_POD_CUSTOM_KINDS = frozenset({
    ("monitoring.coreos.com", "ServiceMonitor"), ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"), ("monitoring.coreos.com", "Probe"),
    ("monitoring.coreos.com", "AlertmanagerConfig"), ("monitoring.coreos.com", "ScrapeConfig"),
    ("gateway.networking.k8s.io", "HTTPRoute"), ("gateway.networking.k8s.io", "GRPCRoute"),
    ("gateway.networking.k8s.io", "TCPRoute"), ("gateway.networking.k8s.io", "TLSRoute"),
    ("gateway.networking.k8s.io", "UDPRoute"), ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("gateway.networking.k8s.io", "GatewayClass"), ("gateway.networking.k8s.io", "BackendTLSPolicy"),
    ("gateway.networking.k8s.io", "ListenerSet"),
    ("external-secrets.io", "ExternalSecret"), ("external-secrets.io", "SecretStore"),
    ("external-secrets.io", "ClusterExternalSecret"), ("external-secrets.io", "PushSecret"),
    ("bitnami.com", "SealedSecret"),
    ("keda.sh", "ScaledObject"), ("keda.sh", "TriggerAuthentication"),
    ("autoscaling.k8s.io", "VerticalPodAutoscaler"),
    ("argoproj.io", "Application"), ("argoproj.io", "AppProject"),
})


@dataclass(frozen=True)
class ProvisionedPods:
    """Pods a controller provisions for a custom resource, known by the label keys they can carry.

    A selector that asks for none of these keys cannot be meant for them, so the resource leaves it checkable.
    """

    key_prefixes: tuple[str, ...]  # label keys its controllers set: `gateway.networking.k8s.io/gateway-name`, ...
    copied: tuple[tuple[str, ...], ...]  # where in the resource are labels copied onto the pods


# A Gateway API `Gateway` may get pods: Istio (gateways and ambient waypoints), Envoy Gateway, NGINX Gateway Fabric
# provision a Deployment for it (GEP-1762). Those pods carry the implementation's labels
# (`gateway.networking.k8s.io/gateway-name`, `istio.io/...`, `gateway.istio.io/...`, `gateway.envoyproxy.io/...`)
# and the labels the Gateway asks for: `spec.infrastructure.labels` (GEP-1867) and, with Istio, its own metadata
# labels. Counting every Gateway as a possible source would make every unmatched selector of a namespace with a
# waypoint not checkable, the incident's missing `tier: backend` included; so a Gateway is a source only for a
# selector that asks for one of those keys.
PROVISIONED_PODS: dict[tuple[str, str], ProvisionedPods] = {
    ("gateway.networking.k8s.io", "Gateway"): ProvisionedPods(
        ("gateway.networking.k8s.io/", "istio.io/", "gateway.istio.io/", "gateway.envoyproxy.io/"),
        (("metadata", "labels"), ("spec", "infrastructure", "labels"))),
}


def may_create_pods(api_version: str, kind: str) -> bool:
    """A custom resource whose operator may create pods (anything not known to create none)."""
    group = api_group(api_version)
    return not is_builtin(api_version) and group not in NO_POD_GROUPS and (group, kind) not in NO_POD_CUSTOM_KINDS


def may_create_pods_with(api_version: str, kind: str, keys: set[str], copied: set[str]) -> bool:
    """Whether a custom resource may create pods carrying one of the label keys a selector asks for.

    copied: the label keys the resource itself asks its pods to carry (see `ProvisionedPods.copied`).
    """
    if not may_create_pods(api_version, kind):
        return False
    provisioned = PROVISIONED_PODS.get((api_group(api_version), kind))
    return provisioned is None or any(key.startswith(provisioned.key_prefixes) or key in copied for key in keys)


def unknown_kind_problem(api_version: str, kind: str, crd_kinds: set[tuple[str, str]]) -> str | None:
    """Why (api_version, kind) cannot be a real object, or None when it can.

    crd_kinds holds (group, kind) pairs defined by CustomResourceDefinitions in the same set.
    """
    group = api_group(api_version)
    if (group, kind) in crd_kinds or not is_builtin(api_version) or kind_info(kind, api_version) is not None:
        return None
    known = KINDS.get(kind)
    if known is not None and api_group(known.resource.api_version) == group:
        return f"apiVersion {api_version} is not served by Kubernetes for {kind} (served: " \
               f"{', '.join(known.api_versions)})"
    served = _SERVED.get(group, [])
    if api_version in served:
        return f"unknown kind {kind!r} for apiVersion {api_version}"
    hint = f" (served: {', '.join(served)})" if served else ""
    return f"apiVersion {api_version} is not served by Kubernetes{hint}"
