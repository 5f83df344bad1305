"""The action's inputs become argv; nothing from an input reaches a shell."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gate.github_action import build_argv, failed_checks, main
from tests.unit.test_examples import ROOT
from tests.unit.test_outputs import UNREACHABLE


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


def test_outputs_come_from_this_run_not_a_stale_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig, junit, outputs = tmp_path / "kubeconfig", tmp_path / "junit.xml", tmp_path / "github_output"
    kubeconfig.write_text(UNREACHABLE)
    junit.write_text('<testsuites><testsuite name="old" tests="2" failures="2" errors="0">'
                     '<testcase name="a"><failure/></testcase><testcase name="b"><failure/></testcase>'
                     '</testsuite></testsuites>')
    for name, value in {"MODE": "verify", "MANIFESTS": str(ROOT / "examples" / "incident-scenario-2"),
                        "KUBECONFIG": str(kubeconfig), "JUNIT_PATH": str(junit)}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main() == 3
    assert outputs.read_text() == f"result=error\nfailed=0\njunit-path={junit}\n"
    assert "cannot reach the API server at https://127.0.0.1:1" in junit.read_text()
