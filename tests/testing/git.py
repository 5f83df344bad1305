"""A copy of this checkout as a git repository of its own: what act, pip, build and pre-commit read the project
from, so that nothing is ever written into the checkout itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"


def checkout_copy(destination: Path) -> Path:
    """This checkout's tracked files (as they are in the working tree) in a new git repository with one commit."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return commit_all(destination)


def commit_all(directory: Path) -> Path:
    """Make the directory a git repository with one commit: runners read the project from git."""
    identity = ["-c", "user.name=deploy-gate tests", "-c", "user.email=tests@deploy-gate.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "deploy"]):
        subprocess.run(["git", *command], cwd=directory, check=True, capture_output=True)
    return directory
