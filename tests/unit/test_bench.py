"""The benchmark's workload helpers (bench/run.py): every tool must get the same objects, helm able to adopt
them, and the incident must break exactly one Service, or the side-by-side table compares different things."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_the_incident_breaks_exactly_one_service(bench: ModuleType) -> None:
    documents = bench.workload(4, 2, revision=1, broken=True)
    templates = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["template"]["metadata"]["labels"]
                 for d in documents if d["kind"] == "Deployment"}
    matched = {d["metadata"]["name"]: selects(d["spec"]["selector"], templates[d["metadata"]["namespace"],
                                                                               d["metadata"]["name"]])
               for d in documents if d["kind"] == "Service"}
    assert matched == {"svc-0": False, "svc-1": True, "svc-2": True, "svc-3": True}
    assert bench.workload(4, 2, revision=1) != documents


def test_every_object_helm_owns_carries_the_adoption_metadata_and_the_chart_holds_them_all(
        bench: ModuleType, tmp_path: Path) -> None:
    documents = bench.workload(3, 3, revision=0)
    chart = bench.write_chart(tmp_path / "chart", documents)
    charted = [d for template in sorted((chart / "templates").iterdir())
               for d in yaml.safe_load_all(template.read_text())]
    assert sorted(charted, key=str) == sorted((d for d in documents if d["kind"] != "Namespace"), key=str)
    for document in charted:
        metadata = document["metadata"]
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert metadata["annotations"] == {"meta.helm.sh/release-name": bench.RELEASE,
                                           "meta.helm.sh/release-namespace": bench.RELEASE_NAMESPACE}
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == bench.RELEASE


def test_kstatus_objects_are_the_apply_output_names_with_their_namespace(bench: ModuleType) -> None:
    assert bench.object_names(bench.workload(1, 1, revision=0)) == [
        "namespace/bench-0", "bench-0/deployment.apps/svc-0", "bench-0/service/svc-0"]
