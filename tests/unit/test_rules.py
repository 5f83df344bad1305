"""The rule catalog is the one source of each rule's documentation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gate.rules
from gate.rules import CATALOG, LINT_RULES, markdown_table

ROOT = Path(__file__).parents[2]


def test_the_documented_lint_rule_table_is_the_catalogs() -> None:
    """The README (or the docs page it moved to) holds exactly `python -m gate.rules --markdown`."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    table = markdown_table()
    holding = [page for page in pages if table in page.read_text()]
    assert holding, "regenerate the lint rule table: python -m gate.rules --markdown"
    assert all(page.read_text().count("| rule | finding |") == 1 for page in holding)


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
