"""-k locates each object in the source file it came from, not at `DIR (kustomize)`: SARIF and GitHub
annotations can attach only to a real file. kustomize records the origin (buildMetadata: originAnnotations)
when rendered through a generated overlay; the annotation never reaches the rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.errors import ManifestError
from gate.location import Location
from gate.manifests import ORIGIN_ANNOTATION, load
from tests.testing.manifests import DEPLOYMENT

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="-k renders with kubectl kustomize")

SERVICE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web, tier: backend}
  ports: [{port: 80}]
"""
def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An overlay over a base one level up, with a name prefix, a namespace and a generator."""
    write(tmp_path, {"base/service.yaml": SERVICE, "base/deployment.yaml": DEPLOYMENT,
                     "base/kustomization.yaml": "resources: [service.yaml, deployment.yaml]\n",
                     "overlays/prod/kustomization.yaml": "resources: [../../base]\nnamespace: shop\n"
                                                         "namePrefix: prod-\n"
                                                         "configMapGenerator: [{name: gen, literals: [a=b]}]\n"})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_objects_are_located_in_their_source_files_at_their_documents(overlay: Path) -> None:
    manifests = {(m.kind, m.obj["metadata"]["name"]): m for m in load([], ["overlays/prod"]).manifests}
    service, deployment = manifests["Service", "prod-web"], manifests["Deployment", "prod-web"]
    assert (service.file, service.line) == ("base/service.yaml", 5)
    assert service.location("spec", "selector") == Location("base/service.yaml", 10)
    assert deployment.location("spec", "template", "metadata", "labels") == Location("base/deployment.yaml", 10)
    assert manifests["ConfigMap", "prod-first"].location() == Location("base/service.yaml", 1)
    [generated] = [m for (_, name), m in manifests.items() if name.startswith("prod-gen-")]
    assert (generated.file, generated.line) == ("overlays/prod/kustomization.yaml", 1)


def test_the_origin_annotation_never_reaches_the_rules(overlay: Path) -> None:
    for manifest in load([], ["overlays/prod"]).manifests:
        assert ORIGIN_ANNOTATION not in (manifest.obj["metadata"].get("annotations") or {})
    write(overlay, {"base/service.yaml": SERVICE.replace("name: web", "name: web\n  annotations: {team: a}")})
    service = next(m for m in load([], ["overlays/prod"]).manifests if m.kind == "Service")
    assert service.obj["metadata"]["annotations"] == {"team": "a"}


def test_a_finding_names_the_source_file_and_line(overlay: Path) -> None:
    result = CliRunner().invoke(main, ["lint", "-k", "overlays/prod"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("base/service.yaml:10:1: error: service/prod-web selects app=web,tier=backend")
    assert "(kustomize)" not in result.stdout


def test_an_absolute_directory_renders_too(overlay: Path) -> None:
    [service] = [m for m in load([], [str(overlay / "overlays/prod")]).manifests if m.kind == "Service"]
    assert service.file == str(overlay / "base/service.yaml")


def test_a_directory_without_a_kustomization_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"-k needs a directory holding a kustomization\.yaml"):
        load([], [str(tmp_path)])


def test_a_kustomize_error_names_the_users_directory(overlay: Path) -> None:
    write(overlay, {"overlays/prod/kustomization.yaml": "resources: [missing.yaml]\n"})
    with pytest.raises(ManifestError, match=r"^overlays/prod: kubectl kustomize: ") as error:
        load([], ["overlays/prod"])
    assert "deploy-gate-kustomize" not in str(error.value)
