"""lint rules, each with failing and passing cases, over every workload kind."""

from __future__ import annotations

from pathlib import Path

from gate.config import load_config
from gate.findings import Outcome
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from tests.testing.lint import only

EXAMPLES = Path(__file__).parents[2] / "examples"


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


