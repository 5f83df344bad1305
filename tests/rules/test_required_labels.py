"""required-labels: pod templates carry the labels gate.yaml's required_labels lists; nothing is asked unless
configured."""

from __future__ import annotations

from pathlib import Path

from gate.config import GateConfig
from gate.findings import Outcome
from tests.testing.lint import only, run, workload


def test_required_labels_are_off_unless_configured(tmp_path: Path) -> None:
    objects = [workload("Deployment", "web", {"app": "web"})]
    assert only(run(tmp_path, objects), "required-labels") == []
    [finding] = only(run(tmp_path, objects, GateConfig(required_labels=("app", "tier", "version"))), "required-labels")
    assert finding.outcome is Outcome.FAILED and "lacks required labels tier, version" in finding.message
