"""What a rule of the catalog is: its id, default severity, documentation and check.

Each rule module (yamllint's `rules/` pattern) carries `ID`, `SEVERITY`, `SUMMARY` (what the rule
requires: SARIF's description), `FIX` (how to fix a failure: SARIF's help, kube-linter's remediation),
`HELP` (what a finding means: the lint rule table in docs/lint.md) and, for a lint rule, `check`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from gate.config import GateConfig
from gate.endpoints import service_selector
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.labels import Selector
from gate.objects import Object, ObjectRef

LINT = "lint"

LintCheck = Callable[[Inventory, GateConfig], list[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity  # of a failure, unless the finding says otherwise (target-port: a numeric port warns)
    summary: str
    fix: str
    help: str
    check: LintCheck | None = None  # None: a verify rule, decided by gate/verify's checks

    @classmethod
    def of(cls, module: ModuleType) -> Rule:
        return cls(module.ID, module.SEVERITY, module.SUMMARY, module.FIX, module.HELP, getattr(module, "check", None))


def finding(rule: str, subject: ObjectRef, title: str, outcome: Outcome, message: str, **kwargs: object) -> Finding:
    """A lint finding of `rule`."""
    return Finding(LINT, rule, subject, title, outcome, message, **kwargs)  # type: ignore[arg-type]


def listed(refs: list[ObjectRef], most: int = 3) -> str:
    """The first few refs, and how many more."""
    shown = ", ".join(str(r) for r in refs[:most])
    return shown + (f" and {len(refs) - most} more" if len(refs) > most else "")


def selecting_services(inventory: Inventory) -> Iterator[tuple[Object, ObjectRef, Selector]]:
    """Each Service with a selector (one without has no pods to judge), its ref and selector."""
    for service in inventory.of_kind("Service"):
        selector = service_selector(service)
        if selector is not None:
            yield service, inventory.ref(service), selector
