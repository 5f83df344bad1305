"""Small manifest builders and a lint run for the rule tests: one workload kind or Service at a time."""

from __future__ import annotations

from pathlib import Path

import yaml

from gate.config import GateConfig
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load

POD_SPEC = {"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]}


def workload(kind: str, name: str, labels: dict, namespace: str = "shop", selector: dict | None = None) -> dict:
    template = {"metadata": {"labels": labels}, "spec": POD_SPEC}
    spec: dict = {"template": template}
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        spec["selector"] = {"matchLabels": selector if selector is not None else labels}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    api = {"Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                                  "labels": labels}, "spec": POD_SPEC}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def service(name: str, selector: dict, target: object = 8080, namespace: str = "shop", protocol: str = "TCP") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target, "protocol": protocol}]}}


def run(tmp_path: Path, objects: list[dict], config: GateConfig | None = None) -> list:
    path = tmp_path / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    inventory = Inventory.from_manifests(load([str(path)]).manifests)
    return lint(inventory, config or GateConfig())


def only(findings: list, rule: str) -> list:
    return [f for f in findings if f.rule == rule]
