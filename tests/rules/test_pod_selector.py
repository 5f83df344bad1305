"""pod-selector: PodDisruptionBudgets and PodMonitors select pod templates, ServiceMonitors Services."""

from __future__ import annotations

from pathlib import Path

from gate.findings import Outcome
from tests.testing.real_world import NS, deployment, lint_set, rule, service


def test_selectors_of_pdbs_and_monitors(tmp_path: Path) -> None:
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": NS},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "wbe"}}}}
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
               "metadata": {"name": "web", "namespace": NS},
               "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "metrics"}]}}
    web = service("web", {"app": "web"}, "http")
    web["metadata"]["labels"] = {"app": "web"}
    findings = rule(lint_set(tmp_path, [deployment("web", {"app": "web"}), web, pdb, monitor]), "pod-selector")
    by_kind = {f.subject.kind: f for f in findings}
    assert by_kind["PodDisruptionBudget"].is_warning and "has no effect" in by_kind["PodDisruptionBudget"].message
    assert by_kind["ServiceMonitor"].outcome is Outcome.PASSED
