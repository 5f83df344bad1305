"""Lint rule `pod-selector`: PodDisruptionBudgets, PodMonitors and ServiceMonitors that select nothing.

Fails (a warning): the budget selects `app: search-api`, the pods are `app: search`.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search, namespace: shop}
    spec:
      replicas: 3
      selector:
        matchLabels: {app: search}
      template:
        metadata:
          labels: {app: search}
        spec:
          containers:
            - {name: app, image: registry.example/search:1.9}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: search, namespace: shop}
    spec:
      minAvailable: 2
      selector:
        matchLabels: {app: search-api}

Passes: the budget selects the search pods.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: search, namespace: shop}
    spec:
      replicas: 3
      selector:
        matchLabels: {app: search}
      template:
        metadata:
          labels: {app: search}
        spec:
          containers:
            - {name: app, image: registry.example/search:1.9}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: search, namespace: shop}
    spec:
      minAvailable: 2
      selector:
        matchLabels: {app: search}
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.kinds import spec_for
from gate.labels import Selector
from gate.location import known
from gate.objects import Object, ObjectRef, dig
from gate.rules.base import CatalogRule, finding

ID = "pod-selector"
SEVERITY = Severity.WARNING
SUMMARY = (
    "A PodDisruptionBudget or PodMonitor should select at least one pod template, a ServiceMonitor at least "
    "one Service."
)
FIX = "Correct the selector so it matches the labels of the pods or Services it is meant for."
HELP = "a PodDisruptionBudget or PodMonitor selecting no pod template, a ServiceMonitor selecting no Service (warning)"


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """PodDisruptionBudgets and PodMonitors select pod templates; ServiceMonitors select Services.

    Selecting nothing protects or scrapes nothing: a warning, not checkable when something in the
    namespace may create pods (or, for a ServiceMonitor, when the set holds no Service there).
    """
    findings = []
    for obj in inventory.objects:
        spec = spec_for(str(obj.get("kind", "")), obj.get("apiVersion"))
        if spec is None or spec.selects is None:
            continue
        kind = spec.name
        ref = inventory.ref(obj)
        selector = Selector.from_label_selector(dig(obj, "spec", "selector"))
        title = f"{ref.name} selects {spec.selects}"
        at = known(inventory.location(obj, "spec", "selector"))
        if spec.selects == "Services":
            namespaces = _monitored_namespaces(obj, ref.namespace)
            candidates = [(o, {str(k): str(v) for k, v in (dig(o, "metadata", "labels") or {}).items()})
                          for o in inventory.of_kind("Service") if namespaces is None or
                          inventory.ref(o).namespace in namespaces]
            selected = [str(inventory.ref(o)) for o, labels in candidates if selector.matches(labels)]
            sources = [] if candidates else [ObjectRef("Service", ref.namespace, "*")]
        else:
            workloads = inventory.workloads(ref.namespace)
            selected = [str(inventory.ref(w)) for w in inventory.selected(selector, ref.namespace)]
            sources = inventory.pod_sources(ref.namespace) or ([] if workloads else [ObjectRef("Pod", ref.namespace,
                                                                                               "*")])
        if selected:
            findings.append(finding(RULE, ref, title, Outcome.PASSED, f"{ref} selects {', '.join(selected)}",
                                     locations=at))
        elif sources:
            findings.append(finding(RULE, ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: selector {selector} matches nothing in the set; what it selects may "
                                     f"come from elsewhere", locations=at))
        else:
            findings.append(finding(RULE, ref, title, Outcome.FAILED,
                                     f"{ref}: selector {selector} matches nothing in namespace {ref.namespace}; "
                                     f"the {kind} has no effect", locations=at))
    return findings


def _monitored_namespaces(monitor: Object, own: str | None) -> set[str | None] | None:
    """The namespaces a ServiceMonitor looks in (None: all)."""
    namespaces = dig(monitor, "spec", "namespaceSelector") or {}
    if namespaces.get("any"):
        return None
    return set(namespaces.get("matchNames") or []) or {own}


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
