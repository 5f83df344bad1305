"""Every example file parses, and the docs link each example."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]


def test_every_example_file_parses() -> None:
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            assert list(yaml.safe_load_all(path.read_text())), path
    jenkinsfile = (ROOT / "examples" / "jenkins" / "Jenkinsfile").read_text()
    assert jenkinsfile.count("{") == jenkinsfile.count("}")
    dockerfile = (ROOT / "examples" / "argocd" / "Dockerfile").read_text()
    assert next(line for line in dockerfile.splitlines() if not line.startswith("#")).startswith("FROM ")
    pipelines = (ROOT / "docs" / "pipelines.md").read_text()
    for name in ("examples/github/", "examples/gitlab/", "examples/jenkins/", "examples/argocd/",
                 "examples/synthetic-check/"):
        assert f"../{name}" in pipelines, f"docs/pipelines.md does not link {name}"
    assert "docs/pipelines.md" in (ROOT / "README.md").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
