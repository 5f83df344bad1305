"""The sdist holds every tracked file a distribution needs to run the tests (tests/, docs/, examples/, ...), and
PyPI's checks (`twine check --strict`) pass on the sdist and the wheel.

`build` and `twine` are not test dependencies: this is the tools tier, which `.ci/run` runs with both installed.
The build runs on a copy of the checkout's tracked files, as a release is built from a clean checkout, with pip's
cache in the temporary directory too: nothing is written into the checkout or the user's home.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.testing.git import ROOT, checkout_copy

# Written by setuptools into every sdist; not in git.
GENERATED = {"PKG-INFO", "setup.cfg"}
# Git's own file: nothing in a distribution reads it.
NOT_SHIPPED = {".gitignore"}


def tracked_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return {name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it (`python -m build`), from a copy of the checkout."""
    for module in ("build", "twine"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"`{module}` is not installed: .ci/run installs it (pinned) for the tools tier")
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout: the sdist is built from the tracked files")
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    source.mkdir()
    checkout_copy(source)
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(source)],
                            env={**os.environ, "XDG_CACHE_HOME": str(work / "cache")},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "dist"


def sdist_members(dist: Path) -> set[str]:
    """The sdist's files, relative to its top directory (deploy_gate-VERSION/)."""
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        return {member.name.split("/", 1)[1] for member in archive.getmembers() if member.isfile()}


def test_sdist_holds_the_tests_docs_and_examples(dist: Path) -> None:
    members = sdist_members(dist)
    for needed in ("tests/unit/test_cli.py", "docs/lint.md", "examples/incident-scenario-2/gate.yaml"):
        assert needed in members
    assert tracked_files() - NOT_SHIPPED <= members, sorted(tracked_files() - NOT_SHIPPED - members)
    extra = {name for name in members - tracked_files() if name not in GENERATED
             and not name.startswith("deploy_gate.egg-info/")}
    assert not extra, sorted(extra)  # no build artifacts or caches (compiled files, __pycache__)


def test_twine_check_strict_passes_on_the_sdist_and_the_wheel(dist: Path) -> None:
    built = sorted(dist.iterdir())
    assert sorted(path.suffix for path in built) == [".gz", ".whl"], built
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout
