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


def test_gitlab_kubectl_job_empties_the_image_entrypoint() -> None:
    """The kubectl image has ENTRYPOINT ["kubectl"]: without `entrypoint: [""]` the runner's shell never starts."""
    pipeline = yaml.safe_load((ROOT / "examples" / "gitlab" / ".gitlab-ci.yml").read_text())
    for name, job in pipeline.items():
        image = job.get("image") if isinstance(job, dict) else None
        if image and "kubectl" in str(image):
            assert isinstance(image, dict) and image["entrypoint"] == [""], name


def test_argocd_hook_has_a_fixed_name_for_before_hook_creation() -> None:
    """BeforeHookCreation deletes the previous hook by its name: with generateName failed Jobs would pile up."""
    hook = yaml.safe_load((ROOT / "examples" / "argocd" / "hook-job.yaml").read_text())
    assert "BeforeHookCreation" in hook["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"]
    assert hook["metadata"]["name"] == "deploy-gate" and "generateName" not in hook["metadata"]
