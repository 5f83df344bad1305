"""`deploy-gate lint`: the incident's class of bugs, from manifests alone.

Runs the rule catalog (gate/rules/): each rule takes the inventory (and the config) and
returns findings; none touches a cluster. Objects a rule cannot judge from the set (a
Service whose workload lives elsewhere) are not checkable, never failures.
"""

from __future__ import annotations

from dataclasses import replace

from gate.config import GateConfig
from gate.findings import Finding
from gate.inventory import Inventory
from gate.manifests import Manifest
from gate.objects import ObjectRef
from gate.rules import LINT_RULES


def lint(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """Every lint rule's findings, in catalog order."""
    rendered = {m.ref(inventory.default_namespace): m for m in inventory.manifests.values() if m.rendered}
    return [with_rendered_line(finding, rendered)
            for rule in LINT_RULES if rule.check for finding in rule.check(inventory, config)]


def with_rendered_line(finding: Finding, rendered: dict[ObjectRef, Manifest]) -> Finding:
    """A finding in a chart's template also says where it is in `helm template`'s output: the template's lines
    are not the rendered ones, and the rendered line is what `helm template ... | sed -n LINEp` shows."""
    manifest = rendered.get(finding.subject)
    if manifest is None or not finding.locations or finding.locations[0].file != manifest.file:
        return finding
    line = manifest.rendered_line(finding.locations[0].line)
    return replace(finding, evidence=(*finding.evidence, f"rendered: {line}"))
