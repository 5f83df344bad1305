"""lint rules, each with failing and passing cases, over every workload kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.config import GateConfig, load_config
from gate.findings import Outcome, Severity
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from tests.testing.lint import only, run, service, workload

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"])
def test_service_selector_matches_templates_of_every_workload_kind(tmp_path: Path, kind: str) -> None:
    findings = run(tmp_path, [workload(kind, "web", {"app": "web", "tier": "fe"}), service("web", {"app": "web"})])
    [finding] = only(findings, "service-selector")
    assert finding.outcome is Outcome.PASSED


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"])
def test_service_selector_gap_names_workload_labels_and_line(tmp_path: Path, kind: str) -> None:
    findings = run(tmp_path, [workload(kind, "web", {"app": "web"}), service("web", {"app": "web", "tier": "fe"})])
    [finding] = only(findings, "service-selector")
    assert finding.outcome is Outcome.FAILED and finding.severity is Severity.ERROR
    assert f"pods of {kind.lower()}/web lack tier=fe" in finding.message
    assert finding.locations[0].file.endswith("manifests.yaml") and finding.locations[0].line > 1
    assert any("kubectl patch" in line for line in finding.fix)


def test_wrong_value_is_reported_as_such_and_patched_with_replace(tmp_path: Path) -> None:
    findings = run(tmp_path, [workload("Deployment", "web", {"app": "web", "tier": "backend"}),
                              service("web", {"app": "web", "tier": "fe"})])
    [finding] = only(findings, "service-selector")
    assert "have tier=backend instead of tier=fe" in finding.message
    assert '"op":"replace"' in finding.fix[0]


def test_label_keys_with_slashes_are_escaped_in_the_patch(tmp_path: Path) -> None:
    findings = run(tmp_path, [workload("Deployment", "web", {"app": "web"}),
                              service("web", {"app": "web", "app.kubernetes.io/part-of": "shop"})])
    [finding] = only(findings, "service-selector")
    assert "/spec/template/metadata/labels/app.kubernetes.io~1part-of" in finding.fix[0]


def test_closest_workload_is_chosen_among_several(tmp_path: Path) -> None:
    findings = run(tmp_path, [workload("Deployment", "worker", {"tier": "backend"}),
                              workload("Deployment", "api", {"app": "api", "tier": "frontend"}),
                              service("api", {"app": "api", "tier": "backend"})])
    [finding] = only(findings, "service-selector")
    assert "deployment/api" in finding.message


def test_service_in_another_namespace_does_not_match(tmp_path: Path) -> None:
    findings = run(tmp_path, [workload("Deployment", "web", {"app": "web"}, namespace="a"),
                              service("web", {"app": "web"}, namespace="b")])
    [finding] = only(findings, "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE


def test_service_without_any_related_workload_is_not_checkable(tmp_path: Path) -> None:
    findings = run(tmp_path, [service("db", {"app": "postgres"})])
    [finding] = only(findings, "service-selector")
    assert finding.outcome is Outcome.NOT_CHECKABLE and finding.severity is Severity.ERROR
    assert not finding.is_error


def test_selectorless_and_external_name_services_are_skipped(tmp_path: Path) -> None:
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "shop"},
                "spec": {"type": "ExternalName", "externalName": "example.org", "selector": {"app": "x"}}}
    manual = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual", "namespace": "shop"},
              "spec": {"ports": [{"port": 80}]}}
    assert only(run(tmp_path, [external, manual]), "service-selector") == []


@pytest.mark.parametrize(("target", "protocol", "outcome", "severity"), [
    (8080, "TCP", Outcome.PASSED, None),
    ("http", "TCP", Outcome.PASSED, None),
    ("grpc", "TCP", Outcome.FAILED, Severity.ERROR),
    ("http", "UDP", Outcome.FAILED, Severity.ERROR),
    (8081, "TCP", Outcome.FAILED, Severity.WARNING),  # a near miss of the declared 8080
    (9999, "TCP", Outcome.NOT_CHECKABLE, None),  # undeclared, but nothing says the app does not listen there
])
def test_target_port(tmp_path: Path, target: object, protocol: str, outcome: Outcome, severity: Severity) -> None:
    findings = run(tmp_path, [workload("Deployment", "web", {"app": "web"}),
                              service("web", {"app": "web"}, target, protocol=protocol)])
    [finding] = only(findings, "target-port")
    assert finding.outcome is outcome
    if severity:
        assert finding.severity is severity and str(target) in finding.message


def test_workload_selector_must_match_its_template(tmp_path: Path) -> None:
    bad = workload("Deployment", "web", {"app": "web"}, selector={"app": "webb"})
    findings = only(run(tmp_path, [bad, workload("StatefulSet", "db", {"app": "db"})]), "workload-selector")
    outcomes = {f.subject.name: f for f in findings}
    assert outcomes["web"].outcome is Outcome.FAILED and "app=webb" in outcomes["web"].message
    assert "API server will reject" in outcomes["web"].message
    assert outcomes["db"].outcome is Outcome.PASSED


def test_workload_selector_with_match_expressions(tmp_path: Path) -> None:
    deployment = workload("Deployment", "web", {"app": "web", "track": "stable"})
    deployment["spec"]["selector"] = {"matchExpressions": [{"key": "track", "operator": "In", "values": ["canary"]}]}
    [finding] = only(run(tmp_path, [deployment]), "workload-selector")
    assert finding.outcome is Outcome.FAILED and "unmet track=canary" in finding.message


def test_missing_workload_selector(tmp_path: Path) -> None:
    deployment = workload("Deployment", "web", {"app": "web"})
    del deployment["spec"]["selector"]
    [finding] = only(run(tmp_path, [deployment]), "workload-selector")
    assert finding.outcome is Outcome.FAILED and "no spec.selector" in finding.message


def test_required_labels_are_off_unless_configured(tmp_path: Path) -> None:
    objects = [workload("Deployment", "web", {"app": "web"})]
    assert only(run(tmp_path, objects), "required-labels") == []
    [finding] = only(run(tmp_path, objects, GateConfig(required_labels=("app", "tier", "version"))), "required-labels")
    assert finding.outcome is Outcome.FAILED and "lacks required labels tier, version" in finding.message


def test_policy_selecting_nothing_is_a_warning(tmp_path: Path) -> None:
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "p", "namespace": "shop"},
              "spec": {"podSelector": {"matchLabels": {"app": "webb"}}}}
    [finding] = only(run(tmp_path, [workload("Deployment", "web", {"app": "web"}), policy]), "policy-selector")
    assert finding.outcome is Outcome.FAILED and finding.severity is Severity.WARNING


def test_incident_example_fails_with_both_causes_and_fixed_example_passes() -> None:
    result = load([str(EXAMPLES / "incident-scenario-2")])
    findings = lint(Inventory.from_manifests(result.manifests), load_config(result.config_file))
    errors = [f for f in findings if f.is_error]
    assert len(errors) == 1
    assert "tier=backend" in errors[0].message and "deployment/inference-api" in errors[0].message
    assert [(loc.file.rsplit("/", 1)[-1], loc.line) for loc in errors[0].locations] == [
        ("service.yaml", 7), ("inference-api.yaml", 15)]
    deny = next(f for f in only(findings, "caller-pair") if "web-frontend" in f.title)
    assert deny.outcome is Outcome.PASSED and "admits pods app=api-gateway" in deny.message

    fixed = load([str(EXAMPLES / "incident-scenario-2-fixed")])
    fixed_findings = lint(Inventory.from_manifests(fixed.manifests), load_config(fixed.config_file))
    assert not [f for f in fixed_findings if f.outcome is not Outcome.PASSED]


def _pair_config(tmp_path: Path, text: str) -> GateConfig:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return load_config(path)


def test_pair_expectation_contradicted_by_policy_is_an_error_with_patch(tmp_path: Path) -> None:
    result = load([str(EXAMPLES / "incident-scenario-2-fixed" / "manifests")])
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/web-frontend\n  to: inference-api:8080\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.is_error
    assert "inference-api-netpol" in finding.message and "app=api-gateway" in finding.message
    assert finding.fix[0].startswith("kubectl patch networkpolicy inference-api-netpol")
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/api-gateway\n  to: inference-api:http\n"
                                    "  expect: deny\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.is_error and "deny: connects to deployment/inference-api port 8080/TCP" in finding.message


def test_pair_with_unknown_caller_is_not_checkable(tmp_path: Path) -> None:
    result = load([str(EXAMPLES / "incident-scenario-2-fixed" / "manifests")])
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/elsewhere\n  to: inference-api:8080\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.outcome is Outcome.NOT_CHECKABLE and "deployment/elsewhere is not in the set" in finding.message


@pytest.mark.parametrize(("written", "meant"), [("web-frontnd", "web-frontend"), ("wbe", "web")])
def test_a_caller_a_typo_away_from_one_in_the_set_is_a_gate_yaml_error(tmp_path: Path, written: str,
                                                                        meant: str) -> None:
    """Not 'not checkable' (it might live in the cluster): a near miss of a workload in the set is a typo."""
    objects = [workload("Deployment", meant, {"app": meant}), workload("Deployment", "api", {"app": "api"}),
               {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
                "spec": {"selector": {"app": "api"}, "ports": [{"port": 8080}]}}]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(objects))
    (tmp_path / "gate.yaml").write_text(f"pairs:\n- from: deployment/{written}\n  to: api.shop:8080\n")
    result = CliRunner().invoke(main, ["lint", str(tmp_path)])
    assert result.exit_code == 2
    pair = f"deployment/{written} -> api.shop:8080 allow"
    assert result.stderr == (f"deploy-gate: error: {tmp_path / 'gate.yaml'}:2: {pair}: "
                             f"deployment/{written} is not in the set (did you mean deployment/{meant}?)\n")
    (tmp_path / "gate.yaml").write_text("pairs:\n- from: deployment/elsewhere\n  to: api.shop:8080\n")
    assert CliRunner().invoke(main, ["lint", str(tmp_path)]).exit_code == 0  # may live in the cluster


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
