"""The pre-commit hook (.pre-commit-hooks.yaml) run by the real pre-commit: `pre-commit try-repo` on a copy of
this checkout, in a repository holding the incident (it fails, naming the cause) and then its fix (it passes).

pre-commit is not a test dependency: this is the tools tier, which `.ci/run` runs with it installed (pinned).
pre-commit installs the hook's environment with virtualenv and pip, from PyPI. Their caches (PRE_COMMIT_HOME,
XDG_CACHE_HOME, XDG_DATA_HOME) and every repository live in temporary directories: nothing is written into the
checkout or the user's home.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.testing.git import EXAMPLES, ROOT, checkout_copy, commit_all

HOOK = "deploy-gate-lint"


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with one commit holding this checkout's tracked files: what try-repo installs from."""
    if importlib.util.find_spec("pre_commit") is None:
        pytest.skip("`pre-commit` is not installed: .ci/run installs it (pinned) for the tools tier")
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout: try-repo installs the hook from a git repository")
    return checkout_copy(tmp_path_factory.mktemp("hook-repository"))


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory for the module: the hook's environment is built once, by the first run."""
    return tmp_path_factory.mktemp("caches")


def try_repo(hook_repository: Path, caches: Path, example: str, work: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOK_REPO deploy-gate-lint --all-files` in a new repository holding the example."""
    project = work / "project"
    shutil.copytree(EXAMPLES / example, project)
    commit_all(project)
    env = {**os.environ, "PRE_COMMIT_HOME": str(caches / "pre-commit"), "XDG_CACHE_HOME": str(caches),
           "XDG_DATA_HOME": str(caches), "TMPDIR": str(work)}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repository), HOOK, "--all-files"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)


def test_hook_fails_on_the_incident_naming_the_cause_and_passes_the_fix(
        hook_repository: Path, caches: Path, tmp_path: Path) -> None:
    (tmp_path / "incident").mkdir()
    result = try_repo(hook_repository, caches, "incident-scenario-2", tmp_path / "incident")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "- hook id: deploy-gate-lint" in result.stdout, result.stdout
    assert ("manifests/service.yaml:7:1: error: service/inference-api selects app=inference-api,tier=backend; "
            "pods of deployment/inference-api lack tier=backend") in result.stdout, result.stdout
    assert "FAILED: 1 error(s)" in result.stdout, result.stdout  # one run over the whole set, not one per file

    (tmp_path / "fixed").mkdir()
    result = try_repo(hook_repository, caches, "incident-scenario-2-fixed", tmp_path / "fixed")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deploy-gate lint" in result.stdout and "Passed" in result.stdout, result.stdout
