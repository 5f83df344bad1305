"""Lint rule `dangling-reference`: a name one object gives another that is a typo.

Fails: `app-setings` is a near miss of the ConfigMap `app-settings` in the set.

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app-settings, namespace: shop}
    data: {LOG_LEVEL: info}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: orders, namespace: shop}
    spec:
      selector:
        matchLabels: {app: orders}
      template:
        metadata:
          labels: {app: orders}
        spec:
          containers:
            - name: app
              image: registry.example/orders:7
              envFrom: [{configMapRef: {name: app-setings}}]

Passes: the reference names the ConfigMap.

    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app-settings, namespace: shop}
    data: {LOG_LEVEL: info}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: orders, namespace: shop}
    spec:
      selector:
        matchLabels: {app: orders}
      template:
        metadata:
          labels: {app: orders}
        spec:
          containers:
            - name: app
              image: registry.example/orders:7
              envFrom: [{configMapRef: {name: app-settings}}]
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.endpoints import (
    json_pointer,
    kubectl_patch,
)
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.labels import near_miss
from gate.location import known
from gate.objects import Object, dig
from gate.references import Reference, references
from gate.rules.base import CatalogRule, finding

ID = "dangling-reference"
SEVERITY = Severity.ERROR
SUMMARY = (
    "A reference must name an object that exists: an Ingress or route backend Service and port, a ConfigMap, "
    "Secret, ServiceAccount, PVC or HPA scale target whose name is a near miss of one in the set is a typo."
)
FIX = "Correct the name (or port) the result gives; the patch is in the result."
HELP = (
    "an Ingress, HTTPRoute or GRPCRoute backend port the named Service lacks; a backend Service, ConfigMap, "
    "Secret, ServiceAccount, PVC or HPA scale target whose name is a near miss of one in the set (an error "
    "with the patch). A name simply absent from the set is not checkable: it may exist in the cluster"
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """Names an object gives others (backends, ConfigMaps, Secrets, scale targets) exist, with their ports.

    A name missing from the set may exist in the cluster: not checkable, unless the set holds an object
    of that kind whose name is a near miss (a typo), or the named Service lacks the named port.
    """
    findings = []
    for obj in inventory.objects:
        ref = inventory.ref(obj)
        if ref.namespace is None:
            continue
        title = f"{ref.name} references exist"
        failed, unknown, found = [], [], []
        for reference in references(obj, ref.namespace):
            if reference.optional:
                continue
            at = inventory.location(obj, *reference.path)
            targets = inventory.find(reference.kind, reference.name, reference.namespace)
            if targets:
                problem = _port_problem(reference, targets[0])
                if problem:
                    failed.append(finding(RULE, ref, title, Outcome.FAILED, f"{ref}: {problem}",
                                           fix=(f"name one of those ports at {at}",), locations=known(at)))
                else:
                    found.append(str(reference))
                continue
            near = [name for name in inventory.names(reference.kind, reference.namespace)
                    if near_miss(reference.name, name)]
            if near:
                failed.append(finding(
                    RULE, ref, title, Outcome.FAILED,
                    f"{ref} names {reference}, which is not in the set (did you mean {near[0]}?)",
                    fix=(kubectl_patch(ref, [{"op": "replace", "path": json_pointer(reference.path),
                                              "value": near[0]}]),
                         f"or in the manifest at {at}: {near[0]}"),
                    locations=known(at)))
            else:
                unknown.append(str(reference))
        findings += failed
        if unknown:
            findings.append(finding(RULE, ref, title, Outcome.NOT_CHECKABLE,
                                     f"{ref} names {', '.join(unknown)}, not in the set: they must exist in the "
                                     f"cluster", locations=known(inventory.location(obj))))
        elif found and not failed:
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                     f"{ref} names {', '.join(found)}: all in the set",
                                     locations=known(inventory.location(obj))))
    return findings


def _port_problem(reference: Reference, service: Object) -> str | None:
    """Why a Service backend's port does not exist on the Service, or None."""
    if reference.kind != "Service" or reference.port is None:
        return None
    ports = [p for p in dig(service, "spec", "ports") or [] if isinstance(p, dict)]
    if any(p.get("port") == reference.port or (p.get("name") and p.get("name") == reference.port) for p in ports):
        return None
    known = ", ".join(f"{p['name']}={p.get('port')}" if p.get("name") else str(p.get("port")) for p in ports)
    return f"routes to {reference}, which the Service does not have (its ports: {known or 'none'})"


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
