"""Everything deploy-gate knows about Kubernetes kinds, in one table.

A new kind is one entry in `KINDS`, keyed by (API group, kind) as kstatus' ObjMetadata is: where it
lives in the API, its short names, where its pod template and selector are, which labels its
controller adds to the pods it creates, its status rule and schemas, its owner chain down to its pods
and what verify reads to explain it, whether it may create pods. A custom kind's entry (`custom=True`)
never makes its group built-in, and never answers for a name a person types (`kind_named`).
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


ORDINAL = r"\d+"


GroupKind = tuple[str, str]  # (API group, kind): "" is the core group


@dataclass(frozen=True)
class ProvisionedPods:
    """Pods a controller provisions for a custom resource, known by the label keys they can carry.

    A selector that asks for none of these keys cannot be meant for them, so the resource leaves it checkable.
    """

    key_prefixes: tuple[str, ...]  # label keys its controllers set: `gateway.networking.k8s.io/gateway-name`, ...
    copied: tuple[tuple[str, ...], ...]  # where in the resource are labels copied onto the pods


@dataclass(frozen=True)
class KindSpec:
    """What deploy-gate knows of one kind, keyed by (group, kind) in `KINDS`.

    `rule` and `live_schema` name a function of gate.status.kinds and a shape of gate.schema.LIVE_SCHEMAS,
    `schema` a shape of gate.schema.SCHEMAS (a workload's is built from its template): those modules read
    this one, so the table points to them by name (tests/unit/test_kinds.py checks every name resolves).
    """

    resource: Resource
    other_versions: tuple[str, ...] = ()  # further apiVersions the API server serves it under
    short_names: tuple[str, ...] = ()  # kubectl's short names, for callers written as `deploy/x`
    template: tuple[str, ...] | None = None  # where its pod template is; () for a Pod; None: no pods
    selector: str | None = None  # spec.selector's form: "LabelSelector", or "labels" (a plain map)
    selector_must_match: bool = False  # apps/v1: the API server rejects a selector missing the template
    rolls_out: bool = True  # False: exists once applied, nothing to wait for
    controller_labels: tuple[ControllerLabel, ...] = ()
    # Kinds its verify check reads besides itself. A passing rollout reads the object alone: the others only
    # explain a pending or failed one (its pods' problems), so verify lists them only there.
    reads: tuple[GroupKind, ...] = ()
    # Owner chain: the kind it creates that owns its pods (Deployment -> ReplicaSet -> Pod), and the annotation
    # naming the current revision on it and on those (only the current revision's pods explain a rollout).
    owns: GroupKind | None = None
    revision_annotation: str | None = None
    rule: str | None = None  # its rollout status rule (gate.status.kinds); None: the generic conditions
    schema: str | None = None  # the shape of the fields lint reads (gate.schema.SCHEMAS)
    live_schema: str | None = None  # the status fields its rule reads (gate.schema.LIVE_SCHEMAS)
    generation_text: bool = False  # status.observedGeneration is text (Argo Rollouts: digits, or an old hash)
    selects: str | None = None  # "pods" or "Services": spec.selector must select something (lint pod-selector)
    routes: bool = False  # spec.rules[].backendRefs name backend Services (Gateway API routes)
    pair_read: bool = False  # read from the cluster for a declared caller pair's static verdict
    payload: tuple[str, ...] = ()  # top-level keys holding data, not fields: never parsed into line numbers
    custom: bool = False  # a CustomResourceDefinition's kind: its group never becomes built-in
    creates_pods: bool = True  # a custom kind whose operator may create pods (gate.inventory's pod sources)
    provisioned: ProvisionedPods | None = None  # ... and only ones with these labels
    foreign_policy: str | None = None  # a network policy kind connectivity does not evaluate: how to name it

    @property
    def name(self) -> str:
        return self.resource.kind

    @property
    def key(self) -> GroupKind:
        return (self.resource.group, self.resource.kind)

    @property
    def api_versions(self) -> tuple[str, ...]:
        return (self.resource.api_version, *self.other_versions)


_STATIC = {"rolls_out": False}
_APPS_V1 = {"selector": "LabelSelector", "selector_must_match": True}
# What an endpoints check reads: the Service and its EndpointSlices, which alone decide a pass, and the pods
# with their owners, which explain a failure (name the workload whose template lacks a label).
POD: GroupKind = ("", "Pod")
ENDPOINT_SLICE: GroupKind = ("discovery.k8s.io", "EndpointSlice")
ENDPOINT_PASS_READS: tuple[GroupKind, ...] = (("", "Service"), ENDPOINT_SLICE)
_REPLICASET, _JOB = ("apps", "ReplicaSet"), ("batch", "Job")
_ENDPOINT_READS = (*ENDPOINT_PASS_READS, POD, _REPLICASET, ("apps", "Deployment"), ("apps", "StatefulSet"),
                   ("apps", "DaemonSet"), _JOB)
_JOB_LABELS = (ControllerLabel("batch.kubernetes.io/job-name", "{name}"), ControllerLabel("job-name", "{name}"),
               ControllerLabel("batch.kubernetes.io/controller-uid"), ControllerLabel("controller-uid"),
               ControllerLabel("batch.kubernetes.io/job-completion-index", ORDINAL))


# Beta and alpha versions that Kubernetes 1.30-1.34 serves (an alpha or beta only when the cluster enables it):
# valid manifests there, so never "not served". Checked against k8s.io/api by tests/upstream.
_ADMISSION_PREVIEWS = ("admissionregistration.k8s.io/v1beta1", "admissionregistration.k8s.io/v1alpha1")


def _core(kind: str, plural: str, **facts: object) -> KindSpec:
    return _in("", "v1", kind, plural, **facts)


def _in(group: str, version: str, kind: str, plural: str, **facts: object) -> KindSpec:
    namespaced = bool(facts.pop("namespaced", True))
    return KindSpec(Resource(kind, group, version, plural, namespaced), **facts)  # type: ignore[arg-type]


def _custom(group: str, version: str, kind: str, plural: str, **facts: object) -> KindSpec:
    return _in(group, version, kind, plural, custom=True, **facts)


_MONITOR = {"schema": "monitor", **_STATIC}
_ROUTE = {"schema": "route", "routes": True, "creates_pods": False, **_STATIC}
_CALICO = "Calico policies"
KINDS: dict[GroupKind, KindSpec] = {k.key: k for k in (
    _core("Pod", "pods", short_names=("po",), template=(), reads=(POD,), rule="pod", live_schema="pod"),
    _core("Service", "services", short_names=("svc",), rolls_out=False, reads=_ENDPOINT_READS, schema="service",
          pair_read=True),
    _core("Namespace", "namespaces", short_names=("ns",), namespaced=False, schema="namespace", **_STATIC),
    _core("Event", "events", short_names=("ev",), other_versions=("events.k8s.io/v1",), live_schema="event",
          **_STATIC),
    _core("ConfigMap", "configmaps", short_names=("cm",), payload=("data", "binaryData"), **_STATIC),
    _core("Secret", "secrets", payload=("data", "stringData"), **_STATIC),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",), **_STATIC),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",)),
    _core("PersistentVolume", "persistentvolumes", short_names=("pv",), namespaced=False),
    _core("ReplicationController", "replicationcontrollers", short_names=("rc",), template=("spec", "template"),
          selector="labels", reads=(POD,), live_schema="replicationcontroller"),
    _core("Endpoints", "endpoints", short_names=("ep",), **_STATIC),
    _core("LimitRange", "limitranges", short_names=("limits",), **_STATIC),
    _core("ResourceQuota", "resourcequotas", short_names=("quota",), **_STATIC),
    _core("PodTemplate", "podtemplates", **_STATIC),
    _core("Binding", "bindings", **_STATIC),
    _core("ComponentStatus", "componentstatuses", short_names=("cs",), namespaced=False, **_STATIC),
    _core("Node", "nodes", short_names=("no",), namespaced=False),
    _core("List", "lists", **_STATIC),  # kubectl's wrapper; its items are read one by one
    _in("apps", "v1", "Deployment", "deployments", short_names=("deploy",), template=("spec", "template"),
        **_APPS_V1, controller_labels=(ControllerLabel("pod-template-hash"),),
        reads=(_REPLICASET, POD), owns=_REPLICASET, revision_annotation="deployment.kubernetes.io/revision",
        rule="deployment", live_schema="deployment", pair_read=True),
    _in("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), template=("spec", "template"),
        **_APPS_V1, reads=(POD,), rule="statefulset", live_schema="statefulset", pair_read=True,
        controller_labels=(
            ControllerLabel("controller-revision-hash"),
            ControllerLabel("statefulset.kubernetes.io/pod-name", "{name}-" + ORDINAL),
            ControllerLabel("apps.kubernetes.io/pod-index", ORDINAL))),
    _in("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), template=("spec", "template"),
        **_APPS_V1, reads=(POD,), rule="daemonset", live_schema="daemonset", pair_read=True,
        controller_labels=(
            ControllerLabel("controller-revision-hash"), ControllerLabel("pod-template-generation", ORDINAL))),
    _in("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), template=("spec", "template"),
        **_APPS_V1, reads=(POD,), rule="replicaset", live_schema="replicaset"),
    _in("apps", "v1", "ControllerRevision", "controllerrevisions", **_STATIC),
    _in("batch", "v1", "Job", "jobs", template=("spec", "template"), selector="LabelSelector",
        controller_labels=_JOB_LABELS,
        reads=(POD,), rule="job", live_schema="job", pair_read=True),
    _in("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), template=("spec", "jobTemplate", "spec", "template"),
        reads=(_JOB, POD), owns=_JOB, pair_read=True, controller_labels=tuple(
            ControllerLabel(label.key, "{name}-" + ORDINAL) if label.value == "{name}" else label
            for label in _JOB_LABELS)),
    _in("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", other_versions=("autoscaling/v1",),
        short_names=("hpa",), schema="hpa"),
    _in("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",), schema="pdb",
        selects="pods", **_STATIC),
    _in("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",),
        schema="network-policy", pair_read=True, **_STATIC),
    _in("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), schema="ingress"),
    _in("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False, **_STATIC),
    _in("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", namespaced=False, **_STATIC,
        other_versions=("networking.k8s.io/v1beta1", "networking.k8s.io/v1alpha1")),
    _in("networking.k8s.io", "v1", "IPAddress", "ipaddresses", namespaced=False, **_STATIC,
        other_versions=("networking.k8s.io/v1beta1", "networking.k8s.io/v1alpha1")),
    _in("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", live_schema="endpointslice", **_STATIC),
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
        namespaced=False, schema="crd"),
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
    # --- Custom kinds (CustomResourceDefinitions): known by (group, kind) in any version; `custom` keeps their
    # groups out of BUILTIN_GROUPS and their names out of the aliases a person types.
    # Argo Rollouts: a Deployment-shaped workload whose controller runs ReplicaSets named after a hash, and labels
    # their pods with it (rollouts-pod-template-hash); its status.observedGeneration is a numeric string.
    _custom("argoproj.io", "v1alpha1", "Rollout", "rollouts", template=("spec", "template"),
            selector="LabelSelector", controller_labels=(ControllerLabel("rollouts-pod-template-hash"),),
            reads=(_REPLICASET, POD), owns=_REPLICASET, revision_annotation="rollout.argoproj.io/revision",
            rule="rollout", live_schema="rollout", generation_text=True),
    # Argo CD's Application: --argocd-app reads its status.resources (gate/verify/argocd.py).
    _custom("argoproj.io", "v1alpha1", "Application", "applications", creates_pods=False),
    _custom("argoproj.io", "v1alpha1", "AppProject", "appprojects", creates_pods=False, **_STATIC),
    # prometheus-operator: the monitors select pods or Services (lint pod-selector). Its Prometheus and
    # Alertmanager create StatefulSets: not listed, so they may create pods.
    _custom("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", selects="Services",
            creates_pods=False, **_MONITOR),
    _custom("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors", selects="pods", creates_pods=False,
            **_MONITOR),
    *(_custom("monitoring.coreos.com", version, kind, kind.lower() + "s", creates_pods=False, **_STATIC)
      for version, kind in (("v1", "PrometheusRule"), ("v1", "Probe"), ("v1alpha1", "AlertmanagerConfig"),
                            ("v1alpha1", "ScrapeConfig"))),
    # Gateway API: routes name backend Services. A `Gateway` may get pods: Istio (gateways and ambient waypoints),
    # Envoy Gateway, NGINX Gateway Fabric provision a Deployment for it (GEP-1762). Those pods carry the
    # implementation's labels and the labels the Gateway asks for: `spec.infrastructure.labels` (GEP-1867) and,
    # with Istio, its own metadata labels. Counting every Gateway as a possible source would make every unmatched
    # selector of a namespace with a waypoint not checkable, the incident's missing `tier: backend` included; so
    # a Gateway is a source only for a selector that asks for one of those keys.
    _custom("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", **_ROUTE),
    _custom("gateway.networking.k8s.io", "v1", "GRPCRoute", "grpcroutes", **_ROUTE),
    _custom("gateway.networking.k8s.io", "v1", "Gateway", "gateways", provisioned=ProvisionedPods(
        ("gateway.networking.k8s.io/", "istio.io/", "gateway.istio.io/", "gateway.envoyproxy.io/"),
        (("metadata", "labels"), ("spec", "infrastructure", "labels")))),
    *(_custom("gateway.networking.k8s.io", version, kind, kind.lower() + "s", creates_pods=False, **_STATIC)
      for version, kind in (("v1alpha2", "TCPRoute"), ("v1alpha2", "TLSRoute"), ("v1alpha2", "UDPRoute"),
                            ("v1beta1", "ReferenceGrant"), ("v1alpha1", "ListenerSet"))),
    _custom("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", namespaced=False, creates_pods=False,
            **_STATIC),
    _custom("gateway.networking.k8s.io", "v1alpha3", "BackendTLSPolicy", "backendtlspolicies", creates_pods=False,
            **_STATIC),
    *(_custom(group, version, kind, kind.lower() + "s", creates_pods=False, **_STATIC)
      for group, version, kind in (
          ("external-secrets.io", "v1", "ExternalSecret"), ("external-secrets.io", "v1", "SecretStore"),
          ("external-secrets.io", "v1alpha1", "PushSecret"),
          ("bitnami.com", "v1alpha1", "SealedSecret"), ("keda.sh", "v1alpha1", "ScaledObject"),
          ("keda.sh", "v1alpha1", "TriggerAuthentication"), ("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler"))),
    _custom("external-secrets.io", "v1", "ClusterExternalSecret", "clusterexternalsecrets", namespaced=False,
            creates_pods=False, **_STATIC),
    # Network policy kinds connectivity's evaluator does not read: a cluster serving them makes a static verdict
    # incomplete. Calico's `NetworkPolicy` is not networking.k8s.io's.
    _custom("policy.networking.k8s.io", "v1alpha1", "AdminNetworkPolicy", "adminnetworkpolicies",
            namespaced=False, foreign_policy="AdminNetworkPolicy", **_STATIC),
    _custom("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", foreign_policy="Cilium policies",
            **_STATIC),
    _custom("crd.projectcalico.org", "v1", "NetworkPolicy", "networkpolicies", foreign_policy=_CALICO, **_STATIC),
    _custom("projectcalico.org", "v3", "NetworkPolicy", "networkpolicies", foreign_policy=_CALICO, **_STATIC),
)}
_BUILTIN = [k for k in KINDS.values() if not k.custom]
# The Kubernetes (not CRD) API groups: an apiVersion in one of these that the table lacks is a typo or a
# removed beta, never a custom resource.
BUILTIN_GROUPS = frozenset(version.rpartition("/")[0] for k in _BUILTIN for version in k.api_versions) | {
    "extensions"}
# Built-in kinds by name alone: for what a person writes (`deploy/web`, gate.yaml) and for an ObjectRef
# written without its group.
BUILTIN_KINDS: dict[str, KindSpec] = {k.name: k for k in _BUILTIN}
BUILTIN_RESOURCES: dict[str, Resource] = {k.name: k.resource for k in _BUILTIN if k.name != "List"}
WORKLOAD_KINDS = frozenset(k.name for k in _BUILTIN if k.template is not None)
# Workload kinds whose spec.selector must keep matching their template (a relabel must not break it).
SELECTOR_KINDS = frozenset(k.name for k in _BUILTIN if k.selector_must_match)
CONTROLLER_LABEL_KEYS = frozenset(label.key for k in KINDS.values() for label in k.controller_labels)
# The kinds that own pods for another (ReplicaSet, Job): a pod's owner chain goes on past them.
OWNED_IN_TURN = frozenset(k.owns for k in KINDS.values() if k.owns)
# How a kind may be written where a person names one: `deployment`, `deploy`, `Deployment`.
_ALIASES = {alias: k.name for k in _BUILTIN for alias in (k.name.lower(), k.resource.plural, *k.short_names)}


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


# apiVersions Kubernetes serves, by group: asked once per object, so computed once.
_SERVED: dict[str, list[str]] = {
    group: sorted({v for k in _BUILTIN for v in k.api_versions if api_group(v) == group})
    for group in {api_group(v) for k in _BUILTIN for v in k.api_versions}}


def kind_named(alias: str) -> str | None:
    """The kind a person (or `kubectl apply -o name`'s `deployment.apps`) means, or None."""
    return _ALIASES.get(alias.lower().split(".", 1)[0])


def is_builtin(api_version: str) -> bool:
    """Served by Kubernetes itself (as opposed to a CustomResourceDefinition)."""
    return api_group(api_version) in BUILTIN_GROUPS or api_version == "v1"


def spec_for(kind: str, api_version: object) -> KindSpec | None:
    """The spec of an object's kind: a built-in kind in any group Kubernetes serves it from (`extensions/v1beta1`
    Deployments are `apps` ones), else the custom kind of the apiVersion's group; None for a kind not known."""
    version = api_version if isinstance(api_version, str) else ""
    if is_builtin(version):
        return BUILTIN_KINDS.get(kind)
    return KINDS.get((api_group(version), kind))


def kind_info(kind: str, api_version: str | None = None) -> KindSpec | None:
    """The table's entry for a built-in kind (None for a custom kind of the same name)."""
    found = BUILTIN_KINDS.get(kind)
    if found is None or (api_version is not None and api_version not in found.api_versions):
        return None
    return found


def is_cluster_scoped(kind: str) -> bool:
    found = BUILTIN_KINDS.get(kind)
    return found is not None and not found.resource.namespaced


def rolls_out(spec: KindSpec | None) -> bool:
    """Whether verify waits for a kind (unknown kinds, None, do: kstatus' generic rules judge them)."""
    return spec is None or spec.rolls_out


# --- Custom resources that may create pods ---------------------------------------------------------------
# A custom resource whose operator may create pods (an operator's Prometheus, Kafka, ...) makes a Service that
# selects nothing in the set not checkable: its pods may come from there. Only what is known to create no pod
# a Service could be meant to select says so: a custom kind's `creates_pods=False` in the table, or its group
# here; an unknown custom kind may create pods.
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


def may_create_pods(api_version: str, kind: str) -> bool:
    """A custom resource whose operator may create pods (anything not known to create none)."""
    if is_builtin(api_version) or api_group(api_version) in NO_POD_GROUPS:
        return False
    known = KINDS.get((api_group(api_version), kind))
    return known is None or known.creates_pods


def may_create_pods_with(api_version: str, kind: str, keys: set[str], copied: set[str]) -> bool:
    """Whether a custom resource may create pods carrying one of the label keys a selector asks for.

    copied: the label keys the resource itself asks its pods to carry (see `ProvisionedPods.copied`).
    """
    if not may_create_pods(api_version, kind):
        return False
    known = KINDS.get((api_group(api_version), kind))
    provisioned = known.provisioned if known else None
    return provisioned is None or any(key.startswith(provisioned.key_prefixes) or key in copied for key in keys)


def unknown_kind_problem(api_version: str, kind: str, crd_kinds: set[tuple[str, str]]) -> str | None:
    """Why (api_version, kind) cannot be a real object, or None when it can.

    crd_kinds holds (group, kind) pairs defined by CustomResourceDefinitions in the same set.
    """
    group = api_group(api_version)
    if (group, kind) in crd_kinds or not is_builtin(api_version) or kind_info(kind, api_version) is not None:
        return None
    known = BUILTIN_KINDS.get(kind)
    if known is not None and api_group(known.resource.api_version) == group:
        return f"apiVersion {api_version} is not served by Kubernetes for {kind} (served: " \
               f"{', '.join(known.api_versions)})"
    served = _SERVED.get(group, [])
    if api_version in served:
        return f"unknown kind {kind!r} for apiVersion {api_version}"
    hint = f" (served: {', '.join(served)})" if served else ""
    return f"apiVersion {api_version} is not served by Kubernetes{hint}"
