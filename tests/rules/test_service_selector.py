"""service-selector with several workloads behind one Service, typo'd keys, and custom resources beside them.

Each fixture states the exact message and fix; every fix is applied (as kubectl would) and the set linted
again: no error remains, and each Service selects at least the workloads it was meant for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.endpoints import Candidate, closest_gap
from gate.findings import Finding, Outcome, Severity
from gate.kinds import may_create_pods
from gate.labels import Selector, near_key
from gate.objects import ObjectRef
from tests.testing import lint as small
from tests.testing.patching import apply_fix
from tests.testing.real_world import custom, deployment, errors, lint_set, rule, selected, service

INCIDENT = {"app": "api", "tier": "backend"}


def apply_every_fix(tmp_path: Path, objects: list[dict[str, Any]], findings: list[Finding],
                    intended: dict[str, set[str]]) -> list[dict[str, Any]]:
    """Apply each error's command; then no error, and every Service selects a superset of what it was meant for."""
    for finding in errors(findings):
        objects = apply_fix(objects, finding.fix[0])
    after = lint_set(tmp_path, objects, "fixed.yaml")
    assert errors(after) == [], [f.message for f in errors(after)]
    now = selected(objects)
    for name, workloads in intended.items():
        assert now[name] >= workloads, (name, now[name], workloads)
    return objects


def versions(*names: str, **extra: str) -> list[dict[str, Any]]:
    return [deployment(f"api-{name}", {"app": "api", "version": name, **extra}) for name in names]


# --- item 8: several workloads behind one Service -----------------------------------------------------------


def test_a_label_no_version_carries_is_added_to_every_version(tmp_path: Path) -> None:
    objects = [*versions("v1", "v2", "v3"), service("api", INCIDENT, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message == ("service/api selects app=api,tier=backend; pods of deployment/api-v1, "
                               "deployment/api-v2, deployment/api-v3 lack tier=backend; the Service will have no "
                               "endpoints")
    assert finding.evidence[-2:] == ("why deployment/api-v1: all but one label match",
                                     "why also deployment/api-v2, deployment/api-v3: they match app=api, the "
                                     "selector as corrected; the fix keeps them behind the Service")
    patch = '--type=json -p=\'[{"op":"add","path":"/spec/template/metadata/labels/tier","value":"backend"}]\''
    assert finding.fix[0] == " && ".join(f"kubectl patch deployment api-{v} -n shop {patch}"
                                         for v in ("v1", "v2", "v3"))
    assert finding.fix[1].startswith("or in the manifest at ") and finding.fix[1].count("tier: backend") == 3
    lines = (tmp_path / "set.yaml").read_text().splitlines()
    assert [lines[loc.line - 1].strip().split()[0] for loc in finding.locations] == ["selector:"] + ["labels:"] * 3
    fixed = apply_every_fix(tmp_path, objects, [finding], {"api": {"api-v1", "api-v2", "api-v3"}})
    assert selected(fixed)["api"] == {"api-v1", "api-v2", "api-v3"}


def test_canary_that_cannot_take_the_label_makes_the_fix_correct_the_selector(tmp_path: Path) -> None:
    """Relabelling stable alone would pass lint while the canary silently left the Service."""
    objects = [deployment("api-stable", {"app": "api", "track": "stable"}),
               deployment("api-canary", {"app": "api", "track": "canary", "tier": "edge"}),
               service("api", INCIDENT, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message == ("service/api selects app=api,tier=backend; pods of deployment/api-stable lack "
                               "tier=backend; pods of deployment/api-canary have tier=edge instead of tier=backend; "
                               "the Service will have no endpoints")
    assert finding.fix[0] == ("kubectl patch service api -n shop --type=json "
                              "-p='[{\"op\":\"replace\",\"path\":\"/spec/selector\",\"value\":{\"app\":\"api\"}}]'")
    assert finding.fix[1].endswith("set spec.selector to app: api (the labels deployment/api-stable, "
                                   "deployment/api-canary carry)")
    apply_every_fix(tmp_path, objects, [finding], {"api": {"api-stable", "api-canary"}})


def test_value_typo_with_two_versions_is_corrected_for_both(tmp_path: Path) -> None:
    objects = [deployment("payments-v1", {"app": "paymentservice", "version": "v1"}),
               deployment("payments-v2", {"app": "paymentservice", "version": "v2"}),
               service("payments", {"app": "paymentservce"}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message == ("service/payments selects app=paymentservce; pods of deployment/payments-v1, "
                               "deployment/payments-v2 have app=paymentservice instead of app=paymentservce (did "
                               "you mean app=paymentservice?); the Service will have no endpoints")
    assert '"value":{"app":"paymentservice"}' in finding.fix[0]
    apply_every_fix(tmp_path, objects, [finding], {"payments": {"payments-v1", "payments-v2"}})


def test_a_version_pinned_service_keeps_only_its_version(tmp_path: Path) -> None:
    """The rest of the selector (version=v2) decides what was served: v1 is not pulled in."""
    objects = [*versions("v1", "v2"), service("api-v2", {"app": "api", "version": "v2", "tier": "backend"}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message.startswith("service/api-v2 selects app=api,tier=backend,version=v2; pods of "
                                      "deployment/api-v2 lack tier=backend;")
    fixed = apply_every_fix(tmp_path, objects, [finding], {"api-v2": {"api-v2"}})
    assert selected(fixed)["api-v2"] == {"api-v2"}


# --- item 9: selector key typos --------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "meant", "value"), [("ap", "app", "api"), ("nme", "name", "api"),
                                                         ("app.kubernetes.io/nme", "app.kubernetes.io/name", "api")])
def test_a_key_typo_corrects_the_service_not_the_template(tmp_path: Path, written: str, meant: str,
                                                          value: str) -> None:
    objects = [deployment("api-v1", {meant: value, "version": "v1"}),
               deployment("api-v2", {meant: value, "version": "v2"}),
               service("api", {written: value}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.message == (f"service/api selects {written}={value}; pods of deployment/api-v1, deployment/api-v2 "
                               f"lack {written}={value} (did you mean {meant}={value}?); the Service will have no "
                               "endpoints")
    assert "why deployment/api-v1: a near-miss key" in finding.evidence
    assert finding.fix[0] == ("kubectl patch service api -n shop --type=json -p='[{\"op\":\"replace\",\"path\":"
                              f"\"/spec/selector\",\"value\":{{\"{meant}\":\"{value}\"}}}}]'")
    apply_every_fix(tmp_path, objects, [finding], {"api": {"api-v1", "api-v2"}})


def test_a_key_typo_beside_a_correct_label_keeps_the_correct_one(tmp_path: Path) -> None:
    objects = [deployment("web", {"app": "web", "tier": "frontend"}), service("frontend", {"ap": "web",
                                                                                          "tier": "frontend"})]
    [finding] = errors(lint_set(tmp_path, objects))
    assert '"value":{"app":"web","tier":"frontend"}' in finding.fix[0]
    apply_every_fix(tmp_path, objects, [finding], {"frontend": {"web"}})


@pytest.mark.parametrize(("written", "meant"), [("ap", "app"), ("nme", "name"), ("apps", "app"),
                                                ("app.kubernetes.io/nam", "app.kubernetes.io/name"),
                                                ("app.kubernetes.io/nmae", "app.kubernetes.io/name")])
def test_near_keys(written: str, meant: str) -> None:
    assert near_key(written, meant)


@pytest.mark.parametrize(("written", "meant"), [("tier", "tier"), ("v1", "v2"), ("zone", "role"), ("a", "ab"),
                                                ("track1", "track2"), ("team", "tier")])
def test_not_near_keys(written: str, meant: str) -> None:
    assert not near_key(written, meant)


def test_a_different_key_with_another_value_is_no_key_typo(tmp_path: Path) -> None:
    objects = [deployment("web", {"app": "web"}), service("db", {"ap": "db"})]
    [finding] = rule(lint_set(tmp_path, objects), "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE


# --- item 10: custom resources mask no near miss -------------------------------------------------------------

GATEWAY_API = custom("gateway.networking.k8s.io/v1", "Gateway", "waypoint",
                     {"gatewayClassName": "istio-waypoint", "listeners": [{"name": "mesh", "port": 15008,
                                                                           "protocol": "HBONE"}]})
ISTIO_GATEWAY = custom("networking.istio.io/v1", "Gateway", "public",
                       {"selector": {"istio": "ingressgateway"}, "servers": []})
KAFKA = custom("kafka.strimzi.io/v1beta2", "Kafka", "events")


@pytest.mark.parametrize("resource", [GATEWAY_API, ISTIO_GATEWAY, KAFKA])
def test_a_near_miss_template_is_an_error_beside_any_custom_resource(tmp_path: Path, resource: dict[str, Any]
                                                                     ) -> None:
    objects = [resource, deployment("paymentservice", {"app": "paymentservice"}),
               service("payments", {"app": "paymentservce"}, "http")]
    (tmp_path / "set.yaml").write_text(yaml.safe_dump_all(objects))
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "set.yaml")])
    assert result.exit_code == 1, result.output
    [finding] = errors(lint_set(tmp_path, objects))
    assert "(did you mean app=paymentservice?)" in finding.message
    if resource is KAFKA:
        assert finding.evidence[-1] == ("pods may also come from kafka/events, but a template one typo away is the "
                                        "stronger evidence")
    apply_every_fix(tmp_path, objects, [finding], {"payments": {"paymentservice"}})


def test_an_operator_still_makes_a_missing_label_not_checkable(tmp_path: Path) -> None:
    objects = [KAFKA, deployment("api", {"app": "api"}), service("api", INCIDENT, "http")]
    [finding] = rule(lint_set(tmp_path, objects), "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE
    assert finding.message == ("service/api selects app=api,tier=backend; no pod template in the set matches, but "
                               "pods may come from kafka/events; closest template: pods of deployment/api lack "
                               "tier=backend")


@pytest.mark.parametrize("resource", [GATEWAY_API, ISTIO_GATEWAY,
                                      custom("cert-manager.io/v1", "Certificate", "api-tls"),
                                      custom("security.istio.io/v1", "AuthorizationPolicy", "api"),
                                      custom("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig", "api")])
def test_kinds_that_create_no_application_pods_leave_the_incident_an_error(tmp_path: Path,
                                                                            resource: dict[str, Any]) -> None:
    objects = [resource, deployment("api", {"app": "api"}), service("api", INCIDENT, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "pods of deployment/api lack tier=backend" in finding.message


def test_a_gateway_may_back_a_service_selecting_its_provisioned_pods(tmp_path: Path) -> None:
    labelled = custom("gateway.networking.k8s.io/v1", "Gateway", "public",
                      {"gatewayClassName": "istio", "listeners": [], "infrastructure": {"labels": {"edge": "public"}}})
    objects = [GATEWAY_API, labelled, deployment("waypoint", {"app": "waypoint"}),
               service("waypoint", {"app": "waypoint", "gateway.networking.k8s.io/gateway-name": "waypoint"}),
               service("public-lb", {"app": "public-lb", "edge": "public"}),
               deployment("public-lb", {"app": "public-lb"})]
    findings = rule(lint_set(tmp_path, objects), "service-selector")
    assert [f.outcome for f in findings] == [Outcome.NOT_CHECKABLE] * 2
    assert "pods may come from gateway/waypoint, gateway/public" in findings[0].message
    assert "pods may come from gateway/public;" in findings[1].message


@pytest.mark.parametrize(("api_version", "kind", "creates"), [
    ("gateway.networking.k8s.io/v1", "HTTPRoute", False), ("gateway.networking.k8s.io/v1", "Gateway", True),
    ("networking.istio.io/v1", "Gateway", False), ("networking.istio.io/v1", "Sidecar", False),
    ("telemetry.istio.io/v1", "Telemetry", False), ("acme.cert-manager.io/v1", "Challenge", False),
    ("monitoring.coreos.com/v1", "Prometheus", True), ("monitoring.coreos.com/v1", "ServiceMonitor", False),
    ("keda.sh/v1alpha1", "ScaledJob", True), ("install.istio.io/v1alpha1", "IstioOperator", True),
    # Flux's kinds: a gate Job without list on them waited for the endpoints deadline (tests/e2e/test_flux.py).
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", False), ("source.toolkit.fluxcd.io/v1", "GitRepository", False),
    ("source.toolkit.fluxcd.io/v1beta2", "OCIRepository", False), ("helm.toolkit.fluxcd.io/v2", "HelmRelease", False),
])
def test_pod_creating_custom_kinds_by_group_and_kind(api_version: str, kind: str, creates: bool) -> None:
    assert may_create_pods(api_version, kind) is creates


def test_verify_names_every_served_workload_with_its_running_pods() -> None:
    """verify's live diagnosis is the same: each workload's running pods, one patch per workload."""
    def live(name: str, version: str, running: int) -> Candidate:
        labels = {"app": "api", "version": version, "pod-template-hash": "5f7b8c9d4"}
        return Candidate(ObjectRef("Deployment", "shop", name), labels, ("spec", "template", "metadata", "labels"),
                         running_pods=running, own_selector=Selector.from_map({"app": "api", "version": version}))

    gap = closest_gap(ObjectRef("Service", "shop", "api"), Selector.from_map(INCIDENT),
                      [live("api-v1", "v1", 3), live("api-v2", "v2", 1)])
    assert gap is not None and gap.message == ("service/api selects app=api,tier=backend; pods of deployment/api-v1 "
                                               "(3 running), deployment/api-v2 (1 running) lack tier=backend")
    [command, edit] = gap.fix()
    assert command.count("kubectl patch deployment") == 2 and " && " in command
    assert edit == ("or in the manifest of deployment/api-v1, under spec.template.metadata.labels: tier: backend; "
                    "and in the manifest of deployment/api-v2, under spec.template.metadata.labels: tier: backend")


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"])
def test_service_selector_matches_templates_of_every_workload_kind(tmp_path: Path, kind: str) -> None:
    findings = small.run(tmp_path, [small.workload(kind, "web", {"app": "web", "tier": "fe"}),
                                    small.service("web", {"app": "web"})])
    [finding] = small.only(findings, "service-selector")
    assert finding.outcome is Outcome.PASSED


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"])
def test_service_selector_gap_names_workload_labels_and_line(tmp_path: Path, kind: str) -> None:
    findings = small.run(tmp_path, [small.workload(kind, "web", {"app": "web"}),
                                    small.service("web", {"app": "web", "tier": "fe"})])
    [finding] = small.only(findings, "service-selector")
    assert finding.outcome is Outcome.FAILED and finding.severity is Severity.ERROR
    assert f"pods of {kind.lower()}/web lack tier=fe" in finding.message
    assert finding.locations[0].file.endswith("manifests.yaml") and finding.locations[0].line > 1
    assert any("kubectl patch" in line for line in finding.fix)


def test_wrong_value_is_reported_as_such_and_patched_with_replace(tmp_path: Path) -> None:
    findings = small.run(tmp_path, [small.workload("Deployment", "web", {"app": "web", "tier": "backend"}),
                                    small.service("web", {"app": "web", "tier": "fe"})])
    [finding] = small.only(findings, "service-selector")
    assert "have tier=backend instead of tier=fe" in finding.message
    assert '"op":"replace"' in finding.fix[0]


def test_label_keys_with_slashes_are_escaped_in_the_patch(tmp_path: Path) -> None:
    findings = small.run(tmp_path, [small.workload("Deployment", "web", {"app": "web"}),
                                    small.service("web", {"app": "web", "app.kubernetes.io/part-of": "shop"})])
    [finding] = small.only(findings, "service-selector")
    assert "/spec/template/metadata/labels/app.kubernetes.io~1part-of" in finding.fix[0]


def test_closest_workload_is_chosen_among_several(tmp_path: Path) -> None:
    findings = small.run(tmp_path, [small.workload("Deployment", "worker", {"tier": "backend"}),
                                    small.workload("Deployment", "api", {"app": "api", "tier": "frontend"}),
                              small.service("api", {"app": "api", "tier": "backend"})])
    [finding] = small.only(findings, "service-selector")
    assert "deployment/api" in finding.message


def test_service_in_another_namespace_does_not_match(tmp_path: Path) -> None:
    findings = small.run(tmp_path, [small.workload("Deployment", "web", {"app": "web"}, namespace="a"),
                                    small.service("web", {"app": "web"}, namespace="b")])
    [finding] = small.only(findings, "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE


def test_service_without_any_related_workload_is_not_checkable(tmp_path: Path) -> None:
    findings = small.run(tmp_path, [small.service("db", {"app": "postgres"})])
    [finding] = small.only(findings, "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE and finding.severity is Severity.ERROR
    assert not finding.is_error


def test_selectorless_and_external_name_services_are_skipped(tmp_path: Path) -> None:
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "shop"},
                "spec": {"type": "ExternalName", "externalName": "example.org", "selector": {"app": "x"}}}
    manual = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual", "namespace": "shop"},
              "spec": {"ports": [{"port": 80}]}}
    assert small.only(small.run(tmp_path, [external, manual]), "service-selector") == []
