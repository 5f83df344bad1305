"""What a rule of the catalog is: its id, default severity, documentation, examples and check.

Each lint rule is a module (yamllint's `rules/` pattern) carrying `ID`, `SEVERITY`, `SUMMARY` (what the rule
requires: SARIF's description), `FIX` (how to fix a failure: SARIF's help, kube-linter's remediation), `HELP`
(what a finding means: the lint rule table in docs/lint.md), `check`, and `RULE`, the rule object its findings
name. Its docstring carries a failing and a passing example (`Fails:` and `Passes:`, each followed by an
indented YAML block, and `gate.yaml:` when the rule reads the config): docs/lint.md prints them and
tests/rules/test_examples.py runs them.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from gate.config import GateConfig
from gate.endpoints import service_selector
from gate.findings import Finding, Outcome, Phase, Severity
from gate.inventory import Inventory
from gate.labels import Selector
from gate.objects import Object, ObjectRef

LintCheck = Callable[[Inventory, GateConfig], Iterable[Finding]]


class Rule(Protocol):
    """A rule of the catalog, as SARIF, docs/lint.md, gate.yaml's `rules:` and the findings read it."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> Severity: ...  # of a failure, unless the finding says otherwise (target-port's warning)
    @property
    def summary(self) -> str: ...
    @property
    def fix(self) -> str: ...
    @property
    def help(self) -> str: ...
    @property
    def doc(self) -> str: ...  # a lint rule's docstring: its examples
    @property
    def check(self) -> LintCheck | None: ...  # None: a verify rule, decided by gate/verify's checks


@dataclass(frozen=True)
class CatalogRule:
    """A rule of the catalog (the `Rule` protocol): a lint rule module's `RULE`, or a verify rule."""

    id: str
    severity: Severity
    summary: str
    fix: str
    help: str
    doc: str = ""
    check: LintCheck | None = None


@dataclass(frozen=True)
class Example:
    """One example of a rule's docstring: what it shows, and the manifests (and gate.yaml) showing it."""

    caption: str  # the docstring's line above the YAML: "Fails: ..." or "Passes: ..."
    manifests: str
    config: str | None = None


@dataclass(frozen=True)
class Examples:
    failing: Example
    passing: Example


_SECTION = re.compile(r"^((Fails|Passes|gate\.yaml)\b.*)\n\n((?:(?: {4}.*)?\n)+)", re.MULTILINE)


def examples(rule: Rule) -> Examples | None:
    """The failing and the passing example of a lint rule's docstring; None when it has neither."""
    sections = {name: (caption, textwrap.dedent(block).strip() + "\n")
                for caption, name, block in _SECTION.findall(inspect.cleandoc(rule.doc) + "\n")}
    if "Fails" not in sections or "Passes" not in sections:
        return None
    config = sections["gate.yaml"][1] if "gate.yaml" in sections else None
    return Examples(Example(*sections["Fails"], config), Example(*sections["Passes"], config))


def finding(rule: Rule, subject: ObjectRef, title: str, outcome: Outcome, message: str,
            severity: Severity | None = None, **kwargs: object) -> Finding:
    """A lint finding of `rule`: a failure has the rule's severity unless `severity` grades this one otherwise."""
    if outcome is Outcome.FAILED:
        kwargs["severity"] = severity or rule.severity
    return Finding(Phase.LINT, rule.id, subject, title, outcome, message, **kwargs)  # type: ignore[arg-type]


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
