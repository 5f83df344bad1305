"""The rule catalog is the one source of each rule's documentation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gate.rules
from gate.findings import Outcome, Severity
from gate.objects import ObjectRef
from gate.rules import CATALOG, LINT_RULES, markdown_table, pod_selector, regenerate, target_port
from gate.rules.base import CatalogRule, Rule, finding

ROOT = Path(__file__).parents[2]


def test_the_documented_lint_rule_table_is_the_catalogs() -> None:
    """The README (or the docs page it moved to) holds exactly `python -m gate.rules --markdown`."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    table = markdown_table()
    holding = [page for page in pages if table in page.read_text()]
    assert holding, "regenerate the lint rule table: python -m gate.rules --markdown"
    assert all(page.read_text().count("| rule | finding |") == 1 for page in holding)


def test_docs_lint_md_is_what_the_generator_writes() -> None:
    """The rule table and every rule's examples in docs/lint.md are the catalog's and the docstrings' own."""
    page = (ROOT / "docs" / "lint.md").read_text()
    assert regenerate(page) == page, "docs/lint.md is stale: python -m gate.rules --write docs/lint.md"


def test_the_write_command_regenerates_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "lint.md"
    page.write_text("intro\n<!-- rules:table -->\nSTALE TABLE\n<!-- /rules:table -->\n<!-- rules:examples -->\n"
                    "<!-- /rules:examples -->\n")
    subprocess.run([sys.executable, "-m", "gate.rules", "--write", str(page)], check=True, cwd=ROOT)
    written = page.read_text()
    assert written == regenerate(written) and "STALE TABLE" not in written
    assert markdown_table() in written and "### `caller-pair`" in written and "```yaml" in written


def test_the_write_command_refuses_a_page_without_the_generated_parts_in_one_line(tmp_path: Path) -> None:
    page = tmp_path / "lint.md"
    page.write_text("no markers\n")
    run = subprocess.run([sys.executable, "-m", "gate.rules", "--write", str(page)], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "<!-- rules:table -->" in run.stderr
    assert page.read_text() == "no markers\n"


def test_the_markdown_command_prints_the_table() -> None:
    printed = subprocess.run([sys.executable, "-m", "gate.rules", "--markdown"], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
    assert printed == markdown_table()


def test_every_rule_module_is_registered_once_with_its_documentation() -> None:
    modules = {path.stem for path in Path(gate.rules.__file__).parent.glob("*.py")} - {"__init__", "__main__", "base"}
    assert sorted(rule.id.replace("-", "_") for rule in LINT_RULES) == sorted(modules)
    assert len(CATALOG) == len({rule.id for rule in CATALOG.values()})
    for rule in CATALOG.values():
        assert rule.summary.endswith(".") and rule.fix.endswith(".") and rule.help, rule.id


WARNING_RULE = CatalogRule("some-rule", Severity.WARNING, "Summary.", "Fix.", "help")


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_finding_takes_a_failures_severity_from_its_rule(outcome: Outcome) -> None:
    made = finding(WARNING_RULE, ObjectRef("Service", "shop", "web"), "web", outcome, "message")
    assert made.rule == "some-rule"
    assert made.severity is (Severity.WARNING if outcome is Outcome.FAILED else Severity.ERROR)


def test_a_finding_may_grade_one_failure_below_its_rules_severity() -> None:
    """target-port: a named port that no container declares is an error, an undeclared number a warning."""
    made = finding(target_port.RULE, ObjectRef("Service", "shop", "web"), "web", Outcome.FAILED, "m", Severity.WARNING)
    assert made.severity is Severity.WARNING and target_port.RULE.severity is Severity.ERROR


def test_every_rule_is_a_rule_with_its_module_constants() -> None:
    rules: list[Rule] = [*CATALOG.values()]
    assert pod_selector.RULE.severity is pod_selector.SEVERITY is Severity.WARNING
    for rule in LINT_RULES:
        module = getattr(gate.rules, rule.id.replace("-", "_"))
        assert (rule.id, rule.severity, rule.summary, rule.fix, rule.help, rule.check) == (
            module.ID, module.SEVERITY, module.SUMMARY, module.FIX, module.HELP, module.check)
        assert rule.doc == module.__doc__
    assert all(rule.check is None for rule in rules if rule not in LINT_RULES)
