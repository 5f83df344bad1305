"""Lint rule `workload-selector`: a spec.selector that is missing or misses its own template labels.

Fails: the selector asks for `app: cart`, the template says `app: carts`.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cart, namespace: shop}
    spec:
      selector:
        matchLabels: {app: cart}
      template:
        metadata:
          labels: {app: carts}
        spec:
          containers:
            - {name: app, image: registry.example/cart:3.1}

Passes: the selector is a subset of the template's labels.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cart, namespace: shop}
    spec:
      selector:
        matchLabels: {app: cart}
      template:
        metadata:
          labels: {app: cart, version: "3.1"}
        spec:
          containers:
            - {name: app, image: registry.example/cart:3.1}
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.kinds import SELECTOR_KINDS
from gate.labels import Selector, format_labels
from gate.location import known
from gate.objects import dig, template_labels
from gate.rules.base import CatalogRule, finding

ID = "workload-selector"
SEVERITY = Severity.ERROR
SUMMARY = "A workload's spec.selector must exist and match its own pod template labels, or the API server rejects it."
FIX = "Make spec.selector.matchLabels a subset of spec.template.metadata.labels."
HELP = (
    "a Deployment/StatefulSet/DaemonSet/ReplicaSet whose `spec.selector` is missing or does not match its own"
    " template labels (the API server would reject it)"
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """A workload's spec.selector matches its own template labels (the API server rejects it otherwise)."""
    findings = []
    for workload in inventory.of_kind(*sorted(SELECTOR_KINDS)):
        ref = inventory.ref(workload)
        title = f"{ref.name} selector matches its template"
        raw = dig(workload, "spec", "selector")
        at = known(inventory.location(workload, "spec", "selector"))
        if not isinstance(raw, dict) or not (raw.get("matchLabels") or raw.get("matchExpressions")):
            findings.append(finding(RULE, ref, title, Outcome.FAILED,
                                     f"{ref} has no spec.selector; apps/v1 requires one matching the template labels",
                                     locations=at or known(inventory.location(workload, "spec"))))
            continue
        selector = Selector.from_label_selector(raw)
        labels = template_labels(workload)
        unmet = selector.unmet(labels)
        if not unmet:
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                     f"{ref} selects its own pods ({selector})", locations=at))
            continue
        gaps = ", ".join(str(r) for r in unmet)
        findings.append(finding(
            RULE, ref, title, Outcome.FAILED,
            f"{ref}: spec.selector {selector} does not match its template labels ({format_labels(labels)}): "
            f"unmet {gaps}; the API server will reject it (`selector` does not match template `labels`)",
            fix=(f"make spec.selector a subset of the template labels, e.g. add {gaps} to the template labels",),
            locations=at + known(inventory.template_labels_location(workload))))
    return findings


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
