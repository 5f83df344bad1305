"""Builders of real-world shaped sets (operators, StatefulSets, Jobs, sidecars, canaries) and lint checks on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gate.config import GateConfig
from gate.findings import Finding
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from tests.testing.patching import apply_fix

NS = "shop"


def container(name: str = "app", ports: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "registry.local/app:1", "ports": ports or [{"name": "http", "containerPort": 8080}],
            **extra}


def deployment(name: str, labels: dict[str, str], selector: dict[str, str] | None = None,
               init: list[dict[str, Any]] | None = None, kind: str = "Deployment",
               api_version: str = "apps/v1", containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers or [container()]}
    if init:
        spec["initContainers"] = init
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 2, "selector": {"matchLabels": selector or labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def statefulset(name: str, labels: dict[str, str]) -> dict[str, Any]:
    sts = deployment(name, labels, kind="StatefulSet")
    sts["spec"]["serviceName"] = name
    return sts


def job(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"restartPolicy": "Never", "containers": [container()]}}
    if labels:
        template["metadata"] = {"labels": labels}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"template": template}}


def service(name: str, selector: dict[str, str], target: object = 8080, protocol: str = "TCP",
            headless: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": selector, "ports": [{"port": 80, "targetPort": target, "protocol": protocol}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def custom(api_version: str, kind: str, name: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": NS},
            "spec": spec or {"replicas": 1}}


def lint_set(tmp_path: Path, objects: list[dict[str, Any]], name: str = "set.yaml") -> list[Finding]:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return lint(Inventory.from_manifests(load([str(path)]).manifests), GateConfig())


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


def rule(findings: list[Finding], name: str) -> list[Finding]:
    return [f for f in findings if f.rule == name]


def assert_fix_fixes(tmp_path: Path, objects: list[dict[str, Any]], finding: Finding) -> list[Finding]:
    """Apply the finding's kubectl patch; the set then lints without it and without any new error."""
    patched = apply_fix(objects, finding.fix[0])
    after = lint_set(tmp_path, patched, "patched.yaml")
    assert errors(after) == [], [f.message for f in errors(after)]
    return after


def selected(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Per Service, the workloads whose template labels carry every label of its selector."""
    templates = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in objects
                 if o["kind"] != "Service" and "template" in o.get("spec", {})}
    return {o["metadata"]["name"]: {name for name, labels in templates.items()
                                    if all(labels.get(k) == v for k, v in o["spec"]["selector"].items())}
            for o in objects if o["kind"] == "Service"}
