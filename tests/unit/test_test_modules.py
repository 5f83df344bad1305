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



ENGINE = TESTS.parent / "gate" / "verify" / "engine.py"


def private_members(path: Path, class_name: str) -> set[str]:
    """The `_name` methods and attributes of a class (dunders excepted): its insides, not its interface."""
    [cls] = [node for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.ClassDef) and node.name == class_name]
    defined = {node.name for node in cls.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {node.attr for node in ast.walk(cls) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id == "self"}
    return {name for name in defined if name.startswith("_") and not name.startswith("__")}


def private_uses(source: str, names: set[str]) -> list[tuple[int, str]]:
    """Each `x._name` (called, read or assigned) whose `_name` is one of `names`, but a class's own `self._name`."""
    own = ("self", "cls")
    return sorted((node.lineno, node.attr) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)
                  and node.attr in names and not (isinstance(node.value, ast.Name) and node.value.id in own))


def test_tests_drive_the_verification_through_its_public_methods() -> None:
    """Tests reaching into the watch loop (`_apply`, `_evaluate`, a replaced `_watch`) test a path production never
    takes and break on every refactoring: they use observe/step/findings, the calls run() itself makes."""
    private = private_members(ENGINE, "Verification")
    offenders = [f"{path.relative_to(TESTS.parent)}:{line}: .{name}" for path in sorted(TESTS.rglob("*.py"))
                 if "go" not in path.relative_to(TESTS).parts for line, name in private_uses(path.read_text(), private)]
    assert offenders == []


def test_the_private_member_rule_sees_calls_reads_and_assignments() -> None:
    private = private_members(ENGINE, "Verification")
    assert {"_evaluate", "_watch", "_finding", "_deadline_passed"} <= private
    assert not {"run", "observe", "step", "findings", "__init__"} & private
    source = "v._evaluate(1.0, True)\nv._watch = w\nx = v._finding\nself._evaluate(e)\nv.__init__()\nv.step()\n"
    assert private_uses(source, private) == [(1, "_evaluate"), (2, "_watch"), (3, "_finding")]
