"""The rule catalog: every rule deploy-gate reports, its documentation beside its code.

A lint rule is one module here (yamllint's `rules/` pattern); adding one is a module and a line
in `LINT_RULES`, whose order is the order of the findings. The verify rules are decided by
gate/verify's checks; their documentation is here so SARIF and docs/lint.md read one catalog.
`python -m gate.rules --markdown` prints the lint rule table (docs/lint.md).
"""

from __future__ import annotations

import difflib

from gate.findings import Severity
from gate.rules import (
    caller_pair,
    dangling_reference,
    duplicate_object,
    pod_selector,
    policy_selector,
    required_labels,
    service_selector,
    target_port,
    workload_selector,
)
from gate.rules.base import Rule

LINT_RULES: tuple[Rule, ...] = tuple(Rule.of(module) for module in (
    duplicate_object, service_selector, target_port, workload_selector, policy_selector, dangling_reference,
    pod_selector, required_labels, caller_pair,
))

VERIFY_RULES: tuple[Rule, ...] = (
    Rule("rollout", Severity.ERROR,
         "Every touched workload must roll out: observed generation, all replicas updated, available and Ready.",
         "Follow the pod, container and reason the result names (image, crash loop, scheduling, probe).",
         "a touched workload that did not roll out by its kind's rule before the rollout deadline"),
    Rule("endpoints", Severity.ERROR,
         "Every port of a touched Service with a selector must have a ready endpoint.",
         "Follow the cause the result names: selector gap, pods not Ready, or a targetPort the pods lack.",
         "a touched Service (or a backend of a touched Ingress or route) with a port that has no ready endpoint"),
)

CATALOG: dict[str, Rule] = {rule.id: rule for rule in (*LINT_RULES, *VERIFY_RULES)}


def unknown_rule(rule: str) -> str | None:
    """Why `rule` names no rule of the catalog, with the nearest id ("did you mean"); None when it is one."""
    if rule in CATALOG:
        return None
    near = difflib.get_close_matches(rule, CATALOG, n=1)
    return f"unknown rule {rule!r}" + (f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(CATALOG)})")


def markdown_table() -> str:
    """The lint rule table of docs/lint.md."""
    rows = ["| rule | finding |", "|---|---|"] + [f"| `{rule.id}` | {rule.help} |" for rule in LINT_RULES]
    return "\n".join(rows) + "\n"
