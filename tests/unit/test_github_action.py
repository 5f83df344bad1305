"""The action's inputs become argv; nothing from an input reaches a shell."""

from __future__ import annotations

import pytest
import yaml

from gate.github_action import build_argv, failed_checks
from tests.unit.test_examples import ROOT


def test_inputs_become_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MODE": "verify", "MANIFESTS": "a/\nb.yaml\n", "NAMESPACE": "shop",
                        "ENDPOINTS_TIMEOUT": "90", "WAIT_FULL_TIMEOUT": "true", "JUNIT_PATH": "out.xml",
                        "CONFIG": "gate.yaml; rm -rf /"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["verify", "-f", "a/", "-f", "b.yaml", "--namespace", "shop", "--config",
                            "gate.yaml; rm -rf /", "--endpoints-timeout", "90", "--wait-full-timeout",
                            "--junit", "out.xml"]


def test_lint_mode_drops_cluster_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MODE": "lint", "MANIFESTS": "m/", "CONTEXT": "prod", "STRICT": "true"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["lint", "-f", "m/", "--strict", "--junit", "deploy-gate-junit.xml"]


def test_bad_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_MODE", "deploy")
    with pytest.raises(ValueError, match="expected verify or lint"):
        build_argv()


def test_action_passes_inputs_only_through_env() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"]
    run_step = action["runs"]["steps"][-1]
    assert {f"INPUT_{name.upper().replace('-', '_')}" for name in action["inputs"] if name != "python"} \
        == set(run_step["env"])


def test_failed_checks_counts_junit_failures(tmp_path) -> None:
    junit = tmp_path / "r.xml"
    junit.write_text('<testsuites><testsuite><testcase name="a"><failure message="x"/></testcase>'
                     '<testcase name="b"/></testsuite></testsuites>')
    assert failed_checks(junit) == 1 and failed_checks(tmp_path / "missing.xml") == 0
