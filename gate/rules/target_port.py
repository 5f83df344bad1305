"""Lint rule `target-port`: a Service targetPort that the pod templates it selects do not declare, graded by the
evidence that the app does not listen there.

Fails: no container names a port `web`, so port 80 gets no endpoints.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: catalog, namespace: shop}
    spec:
      selector:
        matchLabels: {app: catalog}
      template:
        metadata:
          labels: {app: catalog}
        spec:
          containers:
            - name: app
              image: registry.example/catalog:2.0
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: catalog, namespace: shop}
    spec:
      selector: {app: catalog}
      ports: [{port: 80, targetPort: web}]

Passes: the targetPort is the container's named port.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: catalog, namespace: shop}
    spec:
      selector:
        matchLabels: {app: catalog}
      template:
        metadata:
          labels: {app: catalog}
        spec:
          containers:
            - name: app
              image: registry.example/catalog:2.0
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: catalog, namespace: shop}
    spec:
      selector: {app: catalog}
      ports: [{port: 80, targetPort: http}]
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.endpoints import PortGap, port_gaps
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.location import Location, known
from gate.objects import Object, ObjectRef, pod_template, template_path
from gate.rules.base import CatalogRule, finding, selecting_services

ID = "target-port"
SEVERITY = Severity.ERROR
SUMMARY = (
    "A Service's targetPort must be a port its pods expose; a named targetPort must exist by that name and "
    "protocol, or that port gets no endpoints."
)
FIX = "Name the container port as the targetPort does, or point the targetPort at a port the container declares."
HELP = (
    "a Service's `targetPort` (unset or `0`: the Service port) is not declared by the templates it selects "
    "(native sidecars, init containers with `restartPolicy: Always`, count). A named port that no container "
    "defines, or defines for another protocol, is an error: that port gets no endpoints. A number always gets "
    "endpoints, so an undeclared one is a warning only on evidence of a mistake: the containers declare ports of "
    "that protocol, nothing else in the template names the number, and it is the Service port or a near miss of "
    "a declared port (`50052` for `50051`); the fix points the `targetPort` at that port. Otherwise (an env "
    "value, args, a probe name it, or no port of that protocol is declared) it is a note, reported as not "
    "checkable: only live traffic can say whether the app listens there"
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """The Service's targetPort (number, or name + protocol) is declared by the templates it selects."""
    findings = []
    for service, ref, selector in selecting_services(inventory):
        selected = inventory.selected(selector, ref.namespace)
        templates = [(str(inventory.ref(w)), pod_template(w) or {}) for w in selected]
        ports_location = inventory.location(service, "spec", "ports")
        for workload, (name, template) in zip(selected, templates, strict=True):
            workload_ref = inventory.ref(workload)
            title = f"{ref.name} targetPort exposed by {workload_ref}"
            gaps = port_gaps(service, template, [sibling for sibling in templates if sibling[0] != name])
            if not gaps:
                findings.append(finding(RULE, ref, title, Outcome.PASSED, f"{workload_ref} exposes every targetPort "
                                        f"of {ref}", locations=known(ports_location)))
            containers_at = inventory.location(workload, *_containers_path(workload))
            findings += [_gap_finding(gap, ref, workload_ref, title, ports_location, containers_at) for gap in gaps]
    return findings


def _gap_finding(gap: PortGap, service: ObjectRef, workload: ObjectRef, title: str, ports_location: Location | None,
                 containers_at: Location | None) -> Finding:
    """An error (no endpoints), a warning (likely not listening, fix the targetPort) or a note (not checkable)."""
    message = f"{service}: {gap.message(str(workload))}"
    locations = known(ports_location) + known(containers_at)
    if not gap.named and not gap.likely_wrong:
        return finding(RULE, service, title, Outcome.NOT_CHECKABLE, message, locations=locations)
    fix = gap.fix(workload, service, ports_location)
    if gap.named:
        fix = [line + (f" ({containers_at})" if containers_at else "") for line in fix]
    graded = None if gap.named else Severity.WARNING  # a number gets endpoints: likely wrong, not certainly
    return finding(RULE, service, title, Outcome.FAILED, message, graded, fix=tuple(fix), locations=locations)


def _containers_path(workload: Object) -> tuple[str, ...]:
    return (*(template_path(workload) or ()), "spec", "containers")


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
