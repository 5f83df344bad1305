"""The package declares what it imports, and its license metadata matches the LICENSE file."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import yaml

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


def test_install_doc_lists_every_runtime_dependency_with_its_floor() -> None:
    doc = " ".join((ROOT / "docs" / "install.md").read_text().split())
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+).*", requirement).groups()
        assert re.search(rf"`{re.escape(name)}` \([^)]*\b{re.escape(floor)} or later", doc), requirement


def test_docs_and_examples_pin_a_commit_or_a_release_never_the_moving_major_tag() -> None:
    """`deploy-gate/deploy-gate@v1` named a tag that was never made (and would move): a job holding credentials
    pins a full commit SHA (`<full commit SHA>` where the docs cannot know it) or at least a release tag."""
    texts = {path: path.read_text() for path in [*(ROOT / "docs").glob("*.md"), *(ROOT / "examples").rglob("*"),
                                                 ROOT / "README.md"] if path.is_file()}
    releasing = texts[ROOT / "docs" / "releasing.md"]
    pinned = r"<full commit SHA>|[0-9a-f]{40}|v\d+\.\d+\.\d+|\$\{DEPLOY_GATE_REF\}"
    for path, text in texts.items():
        for ref in re.findall(r"deploy-gate/deploy-gate@(<full commit SHA>|[^\s`'\"]+)", text):
            if path.name == "releasing.md" and re.fullmatch(r"v\d+", ref):
                continue  # the moving major tag, described where it is made
            assert re.fullmatch(pinned, ref), (path, ref)
    uses = re.findall(r"uses: deploy-gate/deploy-gate@(.*)", (ROOT / "examples/github/deploy.yml").read_text())
    assert uses and set(uses) == {"<full commit SHA>"}, uses
    assert "`<full commit SHA>` in the examples and docs stands for" in releasing
    assert "releasing.md" in (ROOT / "docs" / "install.md").read_text()


def test_pre_commit_hook_lints_the_repository_once() -> None:
    """One run over the whole set: the rules judge objects together (a Service and its Deployment in two files)."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "deploy-gate-lint" and hook["entry"] == "deploy-gate lint"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hook["entry"].split()[0] in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, runs in (("deploy/app.yaml", True), ("gate.yml", True), ("list.json", True), ("main.py", False)):
        assert bool(re.search(hook["files"], name)) is runs, name
