"""dangling-reference: a backend, ConfigMap, Secret or scale target named by a near miss; a port a Service
lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gate.findings import Outcome
from tests.testing.real_world import NS, assert_fix_fixes, container, deployment, errors, lint_set, rule, service


def ingress(backends: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    paths = [{"path": path, "pathType": "Prefix", "backend": {"service": {"name": name, "port": port}}}
             for path, (name, port) in zip(("/", "/api", "/static"), backends, strict=False)]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "edge", "namespace": NS},
            "spec": {"rules": [{"host": "shop.example", "http": {"paths": paths}}]}}


def http_route(name: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "storefront", "namespace": NS},
            "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": name, "port": port}]}]}}


def test_ingress_backend_port_the_service_lacks(tmp_path: Path) -> None:
    objects = [deployment("web", {"app": "web"}), service("web", {"app": "web"}, "http"),
               ingress([("web", {"number": 80}), ("web", {"number": 8080}), ("web", {"name": "https"})])]
    failed = [f for f in rule(lint_set(tmp_path, objects), "dangling-reference") if f.is_error]
    assert [f.message for f in failed] == [
        "ingress/edge: routes to service/web port 8080, which the Service does not have (its ports: 80)",
        "ingress/edge: routes to service/web port https, which the Service does not have (its ports: 80)"]
    lines = (tmp_path / "set.yaml").read_text().splitlines()
    assert lines[failed[0].locations[0].line - 1].strip() == "name: web"


def test_route_backend_name_typo_is_caught_and_the_fix_applies(tmp_path: Path) -> None:
    objects = [deployment("storefront", {"app": "storefront"}), service("storefront", {"app": "storefront"}, "http"),
               http_route("storefrnt", 80)]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message == ("httproute/storefront names service/storefrnt port 80, which is not in the set "
                               "(did you mean storefront?)")
    after = assert_fix_fixes(tmp_path, objects, finding)
    assert [f.outcome for f in rule(after, "dangling-reference")] == [Outcome.PASSED]


def test_references_missing_from_the_set_are_not_checkable(tmp_path: Path) -> None:
    app = deployment("api", {"app": "api"}, containers=[container(envFrom=[{"secretRef": {"name": "api-db"}},
                                                                           {"configMapRef": {"name": "api-flags",
                                                                                             "optional": True}}])])
    app["spec"]["template"]["spec"]["serviceAccountName"] = "api"
    findings = lint_set(tmp_path, [app, ingress([("auth", {"number": 80})])])
    assert errors(findings) == []
    messages = sorted(f.message for f in rule(findings, "dangling-reference"))
    assert messages == [
        "deployment/api names serviceaccount/api, secret/api-db, not in the set: they must exist in the cluster",
        "ingress/edge names service/auth port 80, not in the set: they must exist in the cluster"]


@pytest.mark.parametrize(("where", "kind"), [
    ({"volumes": [{"name": "cfg", "configMap": {"name": "checkout-confg"}}]}, "ConfigMap"),
    ({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "checkout-dta"}}]}, "PersistentVolumeClaim"),
])
def test_pod_reference_typo_is_caught_and_the_fix_applies(tmp_path: Path, where: dict[str, Any], kind: str) -> None:
    app = deployment("checkout", {"app": "checkout"})
    app["spec"]["template"]["spec"].update(where)
    present = {"ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "checkout-config",
                                                                                   "namespace": NS}},
               "PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                         "metadata": {"name": "checkout-data", "namespace": NS},
                                         "spec": {"accessModes": ["ReadWriteOnce"],
                                                  "resources": {"requests": {"storage": "1Gi"}}}}}[kind]
    objects = [app, present]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "did you mean checkout-" in finding.message
    assert_fix_fixes(tmp_path, objects, finding)


def test_hpa_scale_target_typo(tmp_path: Path) -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "checkout", "namespace": NS},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chekout"},
                    "minReplicas": 2, "maxReplicas": 5}}
    objects = [deployment("checkout", {"app": "checkout"}), hpa]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "names deployment/chekout" in finding.message and "did you mean checkout?" in finding.message
    assert_fix_fixes(tmp_path, objects, finding)
