"""The action's inputs become argv; nothing from an input reaches a shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gate.errors import UsageError
from gate.github_action import build_argv, failed_checks, main
from tests.testing.git import ROOT
from tests.testing.reports import UNREACHABLE


def test_inputs_become_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MODE": "verify", "MANIFESTS": "a/\nb.yaml\n", "NAMESPACE": "shop",
                        "ENDPOINTS_TIMEOUT": "90", "WAIT_FULL_TIMEOUT": "true", "FAIL_FAST": "true",
                        "JUNIT_PATH": "out.xml",
                        "CONFIG": "gate.yaml; rm -rf /"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["verify", "-f", "a/", "-f", "b.yaml", "--namespace", "shop", "--config",
                            "gate.yaml; rm -rf /", "--endpoints-timeout", "90", "--wait-full-timeout",
                            "--fail-fast", "--junit", "out.xml"]


def test_lint_mode_drops_cluster_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MODE": "lint", "MANIFESTS": "m/", "CONTEXT": "prod", "STRICT": "true",
                        "FAIL_FAST": "true"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["lint", "-f", "m/", "--strict", "--junit", "deploy-gate-junit.xml"]


def test_bad_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_MODE", "deploy")
    with pytest.raises(UsageError, match="expected verify or lint"):
        build_argv()


def test_action_passes_inputs_only_through_env() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    run_step = action["runs"]["steps"][-1]
    assert {f"INPUT_{name.upper().replace('-', '_')}" for name in action["inputs"] if name != "python"} \
        == set(run_step["env"])


def test_failed_checks_counts_junit_failures(tmp_path) -> None:
    junit = tmp_path / "r.xml"
    junit.write_text('<testsuites><testsuite><testcase name="a"><failure message="x"/></testcase>'
                     '<testcase name="b"/></testsuite></testsuites>')
    assert failed_checks(junit) == 1 and failed_checks(tmp_path / "missing.xml") == 0


def runner_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it (actions/runner FileCommandManager): `name=value` lines, and
    `name<<DELIMITER` lines whose value runs to the line that is the delimiter; a later name overrides."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            outputs[line[:equals]] = line[equals + 1:]
        elif heredoc >= 0:
            delimiter, value = line[heredoc + 2:], []
            for part in lines:
                if part == delimiter:
                    break
                value.append(part)
            else:
                raise AssertionError(f"no closing {delimiter}")
            outputs[line[:heredoc]] = "\n".join(value)
    return outputs


def lint_action(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, junit_path: str) -> dict[str, str]:
    """The action in lint mode on a copy of the failing example (tmp_path/s); the outputs it gave."""
    if not (tmp_path / "s").exists():
        shutil.copytree(ROOT / "examples" / "incident-scenario-2", tmp_path / "s")
    for name, value in {"MODE": "lint", "MANIFESTS": str(tmp_path / "s"),
                        "JUNIT_PATH": junit_path}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    main()
    return runner_outputs((tmp_path / "github_output").read_text())


def test_a_newline_in_junit_path_adds_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    junit = f"{tmp_path}/r.xml\nresult=success\nfailed=0"
    assert lint_action(monkeypatch, tmp_path, junit) == {"result": "failure", "failed": "1", "junit-path": junit}
    assert Path(junit).is_file()


def test_a_junit_path_that_is_an_input_is_left_and_not_counted(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples" / "incident-scenario-2", tmp_path / "s")
    manifest = tmp_path / "s" / "manifests" / "service.yaml"
    before = manifest.read_bytes()
    stale = tmp_path / "stale.xml"
    stale.write_text('<testsuites><testsuite><testcase name="a"><failure/></testcase></testsuite></testsuites>')
    os.mkfifo(tmp_path / "fifo")
    for junit in (manifest, tmp_path, tmp_path / "fifo"):
        assert lint_action(monkeypatch, tmp_path, str(junit))["result"] == "error"
    assert manifest.read_bytes() == before
    monkeypatch.setattr(sys, "executable", shutil.which("false"))  # deploy-gate cannot even start
    assert lint_action(monkeypatch, tmp_path, str(stale)) == {"result": "failure", "failed": "0",
                                                              "junit-path": str(stale)}
    assert stale.exists()  # not this run's report, not counted, and not the action's to remove


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
    assert runner_outputs(outputs.read_text()) == {"result": "error", "failed": "0", "junit-path": str(junit)}
    assert "cannot reach the API server at https://127.0.0.1:1" in junit.read_text()


def run_step(name: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """One of action.yml's bash steps, as the runner runs it, with GITHUB_OUTPUT and GITHUB_ENV files."""
    [step] = [s for s in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"] if s["name"] == name]
    files = {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_ENV": str(tmp_path / "env")}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                          env={"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "RUNNER_OS": "Linux",
                               "ACTION_PATH": str(ROOT), **files, **env},
                          capture_output=True, text=True, check=False, timeout=60)


def test_action_fails_clearly_on_an_old_python(tmp_path: Path) -> None:
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\n[ \"$1\" = -c ] && case \"$2\" in *print*) echo 3.10;; *) exit 1;; esac\n")
    old.chmod(0o755)
    result = run_step("Check Python and name the wheelhouse", {"PYTHON": str(old)}, tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=deploy-gate needs Python 3.11 or newer::the python input's "
                                    "interpreter is 3.10.")


def test_an_interpreter_printing_lines_adds_no_output(tmp_path: Path) -> None:
    odd = tmp_path / "python3"
    odd.write_text("#!/bin/sh\n[ \"$1\" = -c ] && case \"$2\" in *print*) printf '3.12\\nwheels=/evil\\n';; esac\n")
    odd.chmod(0o755)
    result = run_step("Check Python and name the wheelhouse", {"PYTHON": str(odd)}, tmp_path)
    assert result.returncode == 1 and "did not print its version as MAJOR.MINOR" in result.stdout
    assert not (tmp_path / "output").exists()


def test_action_installs_once_per_job(tmp_path: Path) -> None:
    result = run_step("Check Python and name the wheelhouse", {"PYTHON": sys.executable}, tmp_path)
    assert result.returncode == 0, result.stderr
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines())
    assert outputs["key"].startswith(f"deploy-gate-Linux-py{sys.version_info[0]}.{sys.version_info[1]}-")
    installed = tmp_path / f"deploy-gate-venv-{outputs['key']}" / "bin"  # as an earlier use in this job left it
    installed.mkdir(parents=True)
    (installed / "deploy-gate").write_text("#!/bin/sh\n")
    (installed / "deploy-gate").chmod(0o755)
    result = run_step("Install deploy-gate (once per job)", {"PYTHON": "/nonexistent/python", "KEY": outputs["key"],
                                                             "WHEELS": outputs["wheels"]}, tmp_path)
    assert result.returncode == 0, result.stderr  # nothing ran: the interpreter given does not even exist
    assert (tmp_path / "env").read_text() == f"DEPLOY_GATE_PYTHON={installed}/python\n"
