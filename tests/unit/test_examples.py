"""Every example file parses, and the docs link each example."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
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


@pytest.mark.skipif(shutil.which("groovy") is None or shutil.which("java") is None,
                    reason="no Groovy parser on this machine")
def test_jenkinsfile_is_valid_groovy(tmp_path: Path) -> None:
    script = tmp_path / "Jenkinsfile.groovy"
    script.write_text((ROOT / "examples" / "jenkins" / "Jenkinsfile").read_text())
    java_home = Path(shutil.which("java") or "").resolve().parents[1]
    result = subprocess.run(["groovy", "-e", f"new GroovyShell().parse(new File('{script}'))"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "JAVA_HOME": str(java_home)})
    assert result.returncode == 0, result.stderr
