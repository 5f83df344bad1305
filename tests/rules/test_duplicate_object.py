"""duplicate-object: an object is its API group, kind, namespace and name; kubectl apply keeps only the last
definition."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gate.config import GateConfig
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load


def _named(api_version: str, kind: str, name: str = "main", **metadata: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "shop", **metadata}}


JOB_SPEC = {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}


@pytest.mark.parametrize(("first", "second", "duplicate"), [
    (_named("networking.istio.io/v1", "Gateway"), _named("gateway.networking.k8s.io/v1", "Gateway"), False),
    ({**_named("batch/v1", "Job"), "spec": JOB_SPEC}, _named("batch.volcano.sh/v1alpha1", "Job"), False),
    (_named("networking.istio.io/v1", "Gateway"), _named("networking.istio.io/v1beta1", "Gateway"), True),
    ({**_named("apps/v1", "Deployment"), "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
     {**_named("apps/v1", "Deployment"), "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
         "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}, True),
])
def test_identity_carries_the_api_group(tmp_path: Path, first: dict, second: dict, duplicate: bool) -> None:
    """An Istio Gateway and a Gateway API Gateway of one name are two objects; one kind in two versions is one."""
    findings = [f for f in lint_objects(tmp_path, [first, second]) if f.rule == "duplicate-object"]
    assert bool(findings) is duplicate, findings


def test_generate_name_objects_are_never_duplicates_and_are_named_by_their_prefix(tmp_path: Path) -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-", "namespace": "shop"},
           "spec": JOB_SPEC}
    findings = lint_objects(tmp_path, [job, job])
    assert not [f for f in findings if f.rule == "duplicate-object"]
    inventory = Inventory.from_manifests(load([str(tmp_path)]).manifests)
    assert [str(inventory.ref(obj)) for obj in inventory.of_kind("Job")] == ["job/migrate-*", "job/migrate-*"]


def lint_objects(tmp_path: Path, objects: list[dict]) -> list:
    (tmp_path / "set.yaml").write_text(yaml.safe_dump_all(objects))
    return lint(Inventory.from_manifests(load([str(tmp_path / "set.yaml")]).manifests), GateConfig())
