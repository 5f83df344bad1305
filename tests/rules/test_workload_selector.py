"""workload-selector: a workload's spec.selector must exist and match its own pod template labels."""

from __future__ import annotations

from pathlib import Path

from gate.findings import Outcome
from tests.testing.lint import only, run, workload


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
