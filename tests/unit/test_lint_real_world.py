"""lint on patterns real clusters run: no false failures, no harmful fixes, and the near-misses caught.

Fixtures are written here, modelled on common setups (operator-managed apps, StatefulSets with per-pod
Services, Jobs, native sidecars, Argo Rollouts, canaries). Every fix a finding suggests is applied and the
set linted again: the finding must go away and no new error may appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.findings import Outcome
from tests.testing.real_world import (
    assert_fix_fixes,
    container,
    custom,
    deployment,
    errors,
    job,
    lint_set,
    rule,
    service,
    statefulset,
)

# --- no false failures -------------------------------------------------------------------------------


def test_operator_custom_resource_makes_an_unmatched_selector_not_checkable(tmp_path: Path) -> None:
    # An Alertmanager-style CR: its operator creates a StatefulSet whose pods the Service selects. A Grafana
    # Deployment of the same stack shares only the part-of label.
    objects = [
        custom("monitoring.coreos.com/v1", "Alertmanager", "main"),
        service("alertmanager-main", {"app.kubernetes.io/name": "alertmanager", "alertmanager": "main",
                                      "app.kubernetes.io/part-of": "kube-prometheus"}, target="web"),
        deployment("grafana", {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/part-of": "kube-prometheus"}),
    ]
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == []
    [finding] = rule(findings, "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE
    assert "pods may come from alertmanager/main" in finding.message
    assert finding.fix == ()


def test_shared_part_of_label_is_no_evidence(tmp_path: Path) -> None:
    objects = [service("checkout", {"app.kubernetes.io/name": "checkout", "app.kubernetes.io/part-of": "shop"}),
               deployment("cart", {"app.kubernetes.io/name": "cart", "app.kubernetes.io/part-of": "shop"})]
    [finding] = rule(lint_set(tmp_path, objects), "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE and finding.fix == ()


def test_missing_label_beside_shared_part_of_is_no_evidence(tmp_path: Path) -> None:
    objects = [service("alertmanager", {"app.kubernetes.io/part-of": "monitoring", "component": "alertmanager"}),
               deployment("grafana", {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/part-of": "monitoring"})]
    [finding] = rule(lint_set(tmp_path, objects), "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE, "relabelling grafana would send alertmanager traffic to it"


@pytest.mark.parametrize("selector", [
    {"statefulset.kubernetes.io/pod-name": "kafka-0"},
    {"app": "kafka", "statefulset.kubernetes.io/pod-name": "kafka-2"},
    {"app": "kafka", "apps.kubernetes.io/pod-index": "1"},
    {"app": "kafka", "controller-revision-hash": "kafka-6d4f8"},
])
def test_per_pod_statefulset_service(tmp_path: Path, selector: dict[str, str]) -> None:
    objects = [statefulset("kafka", {"app": "kafka"}), service("kafka-0-external", selector)]
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == []
    assert rule(findings, "service-selector")[0].outcome is Outcome.PASSED


def test_pod_name_of_another_statefulset_does_not_match(tmp_path: Path) -> None:
    objects = [statefulset("kafka", {"app": "kafka"}), service("zk-0", {"statefulset.kubernetes.io/pod-name": "zk-0"})]
    [finding] = rule(lint_set(tmp_path, objects), "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE


@pytest.mark.parametrize("selector", [
    {"batch.kubernetes.io/job-name": "db-migrate"}, {"job-name": "db-migrate"},
    {"batch.kubernetes.io/controller-uid": "6f9c2a1e-0b7d-4b2e-9c55-1d2f3a4b5c6d"},
])
def test_job_headless_service(tmp_path: Path, selector: dict[str, str]) -> None:
    objects = [job("db-migrate"), service("db-migrate", selector, headless=True)]
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == [] and rule(findings, "service-selector")[0].outcome is Outcome.PASSED


def test_pod_template_hash_in_a_selector_matches_the_deployment(tmp_path: Path) -> None:
    pinned = service("web-pinned", {"app": "web", "pod-template-hash": "5f7b8c9d4"})
    objects = [deployment("web", {"app": "web"}), pinned]
    assert rule(lint_set(tmp_path, objects), "service-selector")[0].outcome is Outcome.PASSED


def test_controller_labels_are_never_asked_of_a_template(tmp_path: Path) -> None:
    # The Deployment's pods never carry a StatefulSet pod name: an error (certain: same name, no endpoints),
    # and the fix drops the label from the selector instead of asking to add it to the template.
    objects = [deployment("web", {"app": "web"}), service("web", {"app": "web",
                                                                  "statefulset.kubernetes.io/pod-name": "web-0"})]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "a controller adds statefulset.kubernetes.io/pod-name; Deployment's does not" in finding.message
    assert "/spec/template" not in finding.fix[0] and finding.fix[0].startswith("kubectl patch service web")
    assert_fix_fixes(tmp_path, objects, finding)


def test_native_sidecar_ports_resolve_named_target_ports(tmp_path: Path) -> None:
    proxy = container("proxy", [{"name": "metrics", "containerPort": 9090}], restartPolicy="Always")
    objects = [deployment("web", {"app": "web"}, init=[proxy]), service("web-metrics", {"app": "web"}, "metrics")]
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == [] and rule(findings, "target-port")[0].outcome is Outcome.PASSED


def test_plain_init_container_ports_do_not_serve(tmp_path: Path) -> None:
    setup = container("setup", [{"name": "metrics", "containerPort": 9090}])
    objects = [deployment("web", {"app": "web"}, init=[setup]), service("web-metrics", {"app": "web"}, "metrics")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.rule == "target-port" and "names no container port" in finding.message


def test_argo_rollout_is_a_workload_template(tmp_path: Path) -> None:
    rollout = deployment("checkout", {"app": "checkout", "app.kubernetes.io/part-of": "shop"}, kind="Rollout",
                         api_version="argoproj.io/v1alpha1", selector={"app": "checkout"})
    objects = [rollout, deployment("cart", {"app": "cart", "app.kubernetes.io/part-of": "shop"}),
               service("checkout", {"app": "checkout"}, "http")]
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == []
    [selects] = rule(findings, "service-selector")
    assert selects.outcome is Outcome.PASSED and "rollout/checkout" in selects.message


def test_canary_services_select_their_track(tmp_path: Path) -> None:
    objects = [deployment("api", {"app": "api", "track": "stable"}),
               deployment("api-canary", {"app": "api", "track": "canary"}),
               service("api", {"app": "api"}), service("api-canary", {"app": "api", "track": "canary"})]
    assert errors(lint_set(tmp_path, objects)) == []


def test_versions_that_differ_by_a_number_are_not_typos(tmp_path: Path) -> None:
    objects = [deployment("api-v1", {"app": "api-v1"}), service("api-next", {"app": "api-v2"})]
    assert rule(lint_set(tmp_path, objects), "service-selector")[0].outcome is Outcome.NOT_CHECKABLE


# --- near-misses caught, with fixes that fix ------------------------------------------------------------


def test_selector_value_typo_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    objects = [deployment("paymentservice", {"app": "paymentservice"}),
               service("payments", {"app": "paymentservce"}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "did you mean app=paymentservice?" in finding.message
    # The template's app label is in the Deployment's own selector: the Service is patched, not the template.
    assert finding.fix[0].startswith("kubectl patch service payments -n shop")
    lines = (tmp_path / "set.yaml").read_text().splitlines()
    selector_at, labels_at = (lines[location.line - 1].strip() for location in finding.locations)
    # The Service's selector first, then the template's labels.
    assert selector_at.startswith("selector:") and labels_at.startswith("labels:")
    assert_fix_fixes(tmp_path, objects, finding)


def test_consistent_relabel_leaving_the_same_name_service_behind(tmp_path: Path) -> None:
    objects = [deployment("productcatalogservice", {"app": "productcatalog"}),
               service("productcatalogservice", {"app": "productcatalogservice"}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert "same name as the Service" in " ".join(finding.evidence)
    assert '"value":{"app":"productcatalog"}' in finding.fix[0]
    assert_fix_fixes(tmp_path, objects, finding)


def test_incident_relabel_fix_applies_cleanly(tmp_path: Path) -> None:
    objects = [deployment("inference-api", {"app": "inference-api"}, selector={"app": "inference-api"}),
               service("inference-api", {"app": "inference-api", "tier": "backend"}, "http")]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.fix[0].startswith("kubectl patch deployment inference-api")
    assert '"path":"/spec/template/metadata/labels/tier","value":"backend"' in finding.fix[0]
    assert_fix_fixes(tmp_path, objects, finding)


def test_relabel_that_would_break_the_workload_selector_is_never_suggested(tmp_path: Path) -> None:
    objects = [deployment("web", {"app": "web", "tier": "backend"}),
               service("web", {"app": "web", "tier": "frontend"})]
    [finding] = errors(lint_set(tmp_path, objects))
    assert finding.fix[0].startswith("kubectl patch service web")
    assert_fix_fixes(tmp_path, objects, finding)


# --- property: a set whose every Service selects some template's pods lints clean -------------------------

LABEL_KEYS = ("app", "tier", "app.kubernetes.io/name", "track", "team")
LABEL_VALUES = ("web", "api", "backend", "stable", "canary", "payments", "a1")
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
labels_strategy = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), min_size=1, max_size=4)


def _workload(kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    sidecar = container("proxy", [{"name": "admin", "containerPort": 9901}], restartPolicy="Always")
    if kind == "Job":
        made = job(name, labels)
        made["spec"]["template"]["spec"]["initContainers"] = [sidecar]
        return made
    return deployment(name, labels, kind=kind, init=[sidecar])


@st.composite
def consistent_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    templates = draw(st.lists(st.tuples(st.sampled_from(KINDS), labels_strategy), min_size=1, max_size=5))
    objects = [_workload(kind, f"w{index}", labels) for index, (kind, labels) in enumerate(templates)]
    for index in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(templates) - 1))
        kind, labels = templates[position]
        selector = {key: labels[key] for key in draw(st.sets(st.sampled_from(sorted(labels)), min_size=1))}
        if kind == "StatefulSet" and draw(st.booleans()):
            selector["statefulset.kubernetes.io/pod-name"] = f"w{position}-{draw(st.integers(0, 5))}"
        if kind == "Job" and draw(st.booleans()):
            selector["batch.kubernetes.io/job-name"] = f"w{position}"
        target = draw(st.sampled_from([8080, "http", "admin", 9901]))
        objects.append(service(f"s{index}", selector, target))
    return objects


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(objects=consistent_sets())
def test_every_selector_matching_a_template_lints_without_error(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    findings = lint_set(tmp_path, objects)
    assert errors(findings) == [], [f.message for f in errors(findings)]


# --- dangling references ---------------------------------------------------------------------------------


