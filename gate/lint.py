"""`deploy-gate lint`: the incident's class of bugs, from manifests alone.

Runs the rule catalog (gate/rules/): each rule takes the inventory (and the config) and
returns findings; none touches a cluster. Objects a rule cannot judge from the set (a
Service whose workload lives elsewhere) are not checkable, never failures.
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.findings import Finding
from gate.inventory import Inventory
from gate.rules import LINT_RULES


def lint(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """Every lint rule's findings, in catalog order."""
    return [finding for rule in LINT_RULES if rule.check for finding in rule.check(inventory, config)]
