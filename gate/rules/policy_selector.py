"""Lint rule `policy-selector`: a NetworkPolicy whose podSelector selects no pod template in its namespace.

Fails (a warning): `paymnts` selects no pod template, so the policy protects nothing.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: payments, namespace: shop}
    spec:
      selector:
        matchLabels: {app: payments}
      template:
        metadata:
          labels: {app: payments}
        spec:
          containers:
            - {name: app, image: registry.example/payments:5}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: payments-ingress, namespace: shop}
    spec:
      podSelector:
        matchLabels: {app: paymnts}
      policyTypes: [Ingress]

Passes: the podSelector selects the payments pods.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: payments, namespace: shop}
    spec:
      selector:
        matchLabels: {app: payments}
      template:
        metadata:
          labels: {app: payments}
        spec:
          containers:
            - {name: app, image: registry.example/payments:5}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: payments-ingress, namespace: shop}
    spec:
      podSelector:
        matchLabels: {app: payments}
      policyTypes: [Ingress]
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.location import known
from gate.rules.base import CatalogRule, finding, listed

ID = "policy-selector"
SEVERITY = Severity.WARNING
SUMMARY = "A NetworkPolicy's podSelector should select at least one pod template in its namespace."
FIX = "Correct the podSelector, or remove the policy if nothing should be protected."
HELP = "a NetworkPolicy whose `podSelector` selects no template in its namespace (warning)"


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """A NetworkPolicy whose podSelector selects no template in its namespace protects nothing (warning)."""
    findings = []
    for obj, policy in zip(inventory.of_kind("NetworkPolicy"), inventory.policies(), strict=True):
        ref = inventory.ref(obj)
        title = f"{ref.name} selects pods"
        workloads = inventory.workloads(policy.namespace)
        at = known(inventory.location(obj, "spec", "podSelector"))
        if not workloads:
            findings.append(finding(RULE, ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: no workload of namespace {policy.namespace} is in the set",
                                     locations=at))
            continue
        selected = [str(inventory.ref(w)) for w in inventory.selected(policy.pod_selector, policy.namespace)]
        if selected:
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                     f"{ref} selects {', '.join(selected)}", locations=at))
            continue
        if sources := inventory.pod_sources(policy.namespace):
            findings.append(finding(RULE, ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref}: podSelector {policy.pod_selector} selects no pod template in the set; "
                                     f"pods may come from {listed(sources)}", locations=at))
            continue
        findings.append(finding(
            RULE, ref, title, Outcome.FAILED,
            f"{ref}: podSelector {policy.pod_selector} selects no pod template in namespace {policy.namespace}; "
            f"the policy protects nothing", locations=at))
    return findings


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
