"""No test module imports another test module or a conftest: shared helpers live in tests/testing/, so a test
file can move or go without breaking another, and a helper's users are found by one grep."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {("tests.relative." if node.level else "") + (node.module or "") for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom)}  # `from .test_x import y` is as much an import of a test module
    return names


def forbidden(module: str) -> bool:
    """A test module (tests.<tier>.test_*) or a conftest: never imported, only collected by pytest."""
    parts = module.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") or part == "conftest" for part in parts[1:])


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    offenders = sorted(f"{path.relative_to(TESTS.parent)}: {module}" for path in TESTS.rglob("*.py")
                       if "go" not in path.relative_to(TESTS).parts
                       for module in imported_modules(path) if forbidden(module))
    assert offenders == []


def test_the_rule_names_what_it_forbids() -> None:
    assert forbidden("tests.unit.test_outputs") and forbidden("tests.e2e.test_verify")
    assert forbidden("tests.e2e.conftest") and forbidden("tests.relative.test_lint")
    assert not forbidden("tests.testing.reports") and not forbidden("tests.cluster.cluster")
    assert not forbidden("gate.rules.test_x")
