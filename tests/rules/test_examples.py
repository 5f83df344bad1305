"""Every lint rule's docstring examples run: the failing one fails that rule alone, the passing one lints clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import GateConfig, load_config
from gate.findings import Finding, Outcome
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from gate.rules import LINT_RULES
from gate.rules.base import Example, Rule, examples


def lint_example(tmp_path: Path, example: Example) -> list[Finding]:
    manifests = tmp_path / "example.yaml"
    manifests.write_text(example.manifests)
    config = GateConfig()
    if example.config is not None:
        (tmp_path / "gate.yaml").write_text(example.config)
        config = load_config(tmp_path / "gate.yaml")
    return lint(Inventory.from_manifests(load([str(manifests)]).manifests), config)


def failed(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings if f.outcome is Outcome.FAILED]


@pytest.mark.parametrize("rule", LINT_RULES, ids=lambda rule: rule.id)
def test_the_failing_example_fails_that_rule_alone(rule: Rule, tmp_path: Path) -> None:
    shown = examples(rule)
    assert shown is not None, f"{rule.id}: its docstring needs a `Fails:` and a `Passes:` example"
    failures = [f for f in lint_example(tmp_path, shown.failing) if f.outcome is Outcome.FAILED]
    assert failures, f"{rule.id}: the failing example fails nothing"
    assert {f.rule for f in failures} == {rule.id}, failed(failures)
    assert {f.severity for f in failures} == {rule.severity}


@pytest.mark.parametrize("rule", LINT_RULES, ids=lambda rule: rule.id)
def test_the_passing_example_lints_clean(rule: Rule, tmp_path: Path) -> None:
    shown = examples(rule)
    assert shown is not None, f"{rule.id}: its docstring needs a `Fails:` and a `Passes:` example"
    assert failed(lint_example(tmp_path, shown.passing)) == []
