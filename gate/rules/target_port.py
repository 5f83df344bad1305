"""Lint rule `target-port`: a Service targetPort that the pod templates it selects do not declare."""

from __future__ import annotations

from gate.config import GateConfig
from gate.endpoints import (
    port_gaps,
)
from gate.findings import Finding, Location, Outcome, Severity
from gate.inventory import Inventory
from gate.objects import Object, pod_template, template_path
from gate.rules.base import finding, selecting_services

ID = "target-port"
SEVERITY = Severity.ERROR
SUMMARY = (
    "A Service's targetPort must be a port its pods expose; a named targetPort must exist by that name and "
    "protocol, or that port gets no endpoints."
)
FIX = "Name the container port as the targetPort does, or point the targetPort at a port the container declares."
HELP = (
    "a Service's `targetPort` is not declared by the templates it selects (native sidecars, init containers "
    "with `restartPolicy: Always`, count): a named port that no container defines, or defines for another "
    "protocol, is an error, because that port gets no endpoints; an undeclared number is a warning "
    '("undeclared": apps often listen on ports they do not declare)'
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """The Service's targetPort (number, or name + protocol) is declared by the templates it selects."""
    findings = []
    for service, ref, selector in selecting_services(inventory):
        for workload in inventory.selected(selector, ref.namespace):
            workload_ref = inventory.ref(workload)
            title = f"{ref.name} targetPort exposed by {workload_ref}"
            gaps = port_gaps(service, pod_template(workload) or {})
            ports_at = Location.parse(inventory.location(service, "spec", "ports"))
            if not gaps:
                findings.append(finding(ID, ref, title, Outcome.PASSED,
                                         f"{workload_ref} exposes every targetPort of {ref}", locations=ports_at))
            for gap in gaps:
                # an undeclared number warns: apps often listen on ports they do not declare
                severity = SEVERITY if gap.named else Severity.WARNING
                containers_at = inventory.location(workload, *_containers_path(workload))
                findings.append(finding(
                    ID, ref, title, Outcome.FAILED, f"{ref}: {gap.message} of {workload_ref}",
                    severity=severity, fix=(gap.fix(workload_ref) + (f" ({containers_at})" if containers_at else ""),),
                    locations=ports_at + Location.parse(containers_at)))
    return findings


def _containers_path(workload: Object) -> tuple[str, ...]:
    return (*(template_path(workload) or ()), "spec", "containers")
