"""The rule catalog: every rule deploy-gate reports, its documentation beside its code.

A lint rule is one module here (yamllint's `rules/` pattern, see gate/rules/base.py); adding one is a module
and a line in `LINT_RULES`, whose order is the order of the findings. The verify rules are decided by
gate/verify's checks; their documentation is here so SARIF and docs/lint.md read one catalog.
`python -m gate.rules --write docs/lint.md` regenerates the rule table and the rule examples there.
"""

from __future__ import annotations

import difflib
import re

from gate.findings import Severity
from gate.rules import (
    caller_pair,
    dangling_reference,
    duplicate_object,
    pod_selector,
    policy_selector,
    probe_port,
    required_labels,
    service_selector,
    target_port,
    workload_selector,
)
from gate.rules.base import CatalogRule, Example, Rule, examples

LINT_RULES: tuple[Rule, ...] = tuple(module.RULE for module in (
    duplicate_object, service_selector, target_port, workload_selector, policy_selector, dangling_reference,
    pod_selector, required_labels, caller_pair, probe_port,
))

VERIFY_RULES: tuple[Rule, ...] = (
    CatalogRule("rollout", Severity.ERROR,
         "Every touched workload must roll out: observed generation, all replicas updated, available and Ready.",
         "Follow the pod, container and reason the result names (image, crash loop, scheduling, probe).",
         "a touched workload that did not roll out by its kind's rule before the rollout deadline"),
    CatalogRule("endpoints", Severity.ERROR,
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


def markdown_examples() -> str:
    """Each lint rule's failing and passing example, from its docstring (docs/lint.md, "Rule examples")."""
    def shown(example: Example) -> str:
        return f"{example.caption}\n\n```yaml\n{example.manifests}```\n"

    sections = []
    for rule in LINT_RULES:
        pair = examples(rule)
        if pair is None:
            raise ValueError(f"lint rule {rule.id}: its docstring has no `Fails:` and `Passes:` example")
        config = f"With this `gate.yaml`:\n\n```yaml\n{pair.failing.config}```\n\n" if pair.failing.config else ""
        sections.append(f"### `{rule.id}`\n\n{config}{shown(pair.failing)}\n{shown(pair.passing)}")
    return "\n".join(sections)


GENERATED = {"table": markdown_table, "examples": markdown_examples}


def regenerate(page: str) -> str:
    """`page` with every generated part (`<!-- rules:NAME -->` to `<!-- /rules:NAME -->`) written anew."""
    for name, render in GENERATED.items():
        page, found = re.subn(rf"(<!-- rules:{name} -->\n).*?(<!-- /rules:{name} -->)",
                              lambda match, render=render: match[1] + render() + match[2], page, flags=re.DOTALL)
        if found != 1:
            raise ValueError(f"the page needs one <!-- rules:{name} --> ... <!-- /rules:{name} --> part, not {found}")
    return page
