"""The package declares what it imports, and its license metadata matches the LICENSE file."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
DISTRIBUTION = {"yaml": "pyyaml", "prometheus_client": "prometheus-client"}  # import name -> distribution


def test_every_imported_third_party_module_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[; ]", dependency)[0].lower() for dependency in project["dependencies"]}
    imported = set()
    for path in (ROOT / "gate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "gate"}
    assert {DISTRIBUTION.get(name, name) for name in third_party} == declared


def test_license_is_spdx_and_shipped() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]


def test_ci_examples_install_from_the_repository_at_a_pinned_ref() -> None:
    """deploy-gate is not on PyPI: installing it by name would run whatever someone registered under it."""
    for name in ("gitlab/.gitlab-ci.yml", "jenkins/Jenkinsfile", "argocd/Dockerfile"):
        text = (ROOT / "examples" / name).read_text()
        installs = [line for line in text.splitlines() if re.search(r"pip (install|wheel)\b", line)
                    and "deploy-gate" in line and not line.lstrip().startswith(("#", "//"))]
        assert installs, name
        pinned = "git+https://github.com/deploy-gate/deploy-gate@${DEPLOY_GATE_REF}"
        for line in installs:
            assert f"deploy-gate @ {pinned}" in line or "--no-index" in line \
                or ("deploy-gate @ ${DEPLOY_GATE_SOURCE}" in line and f"DEPLOY_GATE_SOURCE: {pinned}" in text), \
                (name, line)
        assert re.search(r"DEPLOY_GATE_REF\s*[:=]\s*'?v\d+\.\d+\.\d+", text), name
