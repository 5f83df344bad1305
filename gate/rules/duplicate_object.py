"""Lint rule `duplicate-object`: an object defined twice in the set: kubectl apply keeps the last one, silently.

Fails: the second `settings` replaces the first, silently.

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data: {mode: fast}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data: {mode: safe}

Passes: one name per object.

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data: {mode: fast}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings-canary, namespace: shop}
    data: {mode: safe}
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.location import Location
from gate.rules.base import CatalogRule, finding

ID = "duplicate-object"
SEVERITY = Severity.ERROR
SUMMARY = "An object must be defined once in the set: kubectl apply keeps only the last definition."
FIX = "Remove or rename one of the definitions."
HELP = (
    "an object (API group, kind, namespace, name) defined more than once in the set: `kubectl apply` keeps only"
    " the last definition, silently. The error lists every place it is defined. An Istio `Gateway` and a Gateway"
    " API `Gateway` of one name are two objects; each `generateName` object is a new one, never a duplicate"
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """An object defined twice: `kubectl apply` keeps the last one, silently."""
    findings = []
    for ref, manifests in inventory.duplicates.items():
        places = ", ".join(f"{m.file}:{m.line}" for m in manifests)
        findings.append(finding(
            RULE, ref, f"{ref.name} is defined once", Outcome.FAILED,
            f"{ref.qualified} is defined {len(manifests)} times ({places}); kubectl apply keeps only the last",
            locations=tuple(Location(m.file, m.line) for m in manifests)))
    return findings


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
