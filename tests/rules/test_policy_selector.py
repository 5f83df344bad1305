"""policy-selector: a NetworkPolicy whose podSelector selects no pod template protects nothing (a warning)."""

from __future__ import annotations

from pathlib import Path

from gate.findings import Outcome, Severity
from tests.testing.lint import only, run, workload


def test_policy_selecting_nothing_is_a_warning(tmp_path: Path) -> None:
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "p", "namespace": "shop"},
              "spec": {"podSelector": {"matchLabels": {"app": "webb"}}}}
    [finding] = only(run(tmp_path, [workload("Deployment", "web", {"app": "web"}), policy]), "policy-selector")
    assert finding.outcome is Outcome.FAILED and finding.severity is Severity.WARNING
