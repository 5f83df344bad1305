"""Lint rule `required-labels`: pod templates lacking the labels gate.yaml's required_labels lists.

gate.yaml: both examples.

    required_labels: [team]

Fails: the pod template has no `team` label.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: mailer, namespace: shop}
    spec:
      selector:
        matchLabels: {app: mailer}
      template:
        metadata:
          labels: {app: mailer}
        spec:
          containers:
            - {name: app, image: registry.example/mailer:2}

Passes: the pod template carries `team`.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: mailer, namespace: shop}
    spec:
      selector:
        matchLabels: {app: mailer}
      template:
        metadata:
          labels: {app: mailer, team: notifications}
        spec:
          containers:
            - {name: app, image: registry.example/mailer:2}
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.location import known
from gate.objects import template_labels
from gate.rules.base import CatalogRule, finding

ID = "required-labels"
SEVERITY = Severity.ERROR
SUMMARY = "Pod templates must carry the labels gate.yaml's required_labels lists."
FIX = "Add the missing labels under spec.template.metadata.labels."
HELP = "pod templates lacking the labels listed in `required_labels` (off unless configured)"


def check(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """Label conventions (required_labels in gate.yaml) on every pod template."""
    if not config.required_labels:
        return []
    findings = []
    for workload in inventory.workloads():
        ref = inventory.ref(workload)
        missing = [key for key in config.required_labels if key not in template_labels(workload)]
        title = f"{ref.name} has the required labels"
        at = known(inventory.template_labels_location(workload))
        if not missing:
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                     f"{ref} carries {', '.join(config.required_labels)}", locations=at))
            continue
        findings.append(finding(
            RULE, ref, title, Outcome.FAILED,
            f"pod template of {ref} lacks required label{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(required_labels in {config.file})", fix=(f"add {', '.join(missing)} to the pod template labels",),
            locations=at))
    return findings


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
