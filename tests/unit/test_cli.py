"""The command line: exit codes and one-line errors, through click's runner (no cluster)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_lint_incident_exits_1_naming_label_workload_and_line() -> None:
    code, out, _ = run("lint", str(EXAMPLES / "incident-scenario-2"))
    assert code == 1
    first = out.splitlines()[0]
    assert "tier=backend" in first and "deployment/inference-api" in first
    assert "manifests/service.yaml:7:1: error:" in first  # at the selector; the template is the second place
    assert "pod template labels (app=inference-api) at " in out and "inference-api.yaml:15" in out


def test_lint_fixed_example_exits_0() -> None:
    assert run("lint", str(EXAMPLES / "incident-scenario-2-fixed"))[0] == 0


def test_lint_accepts_dash_f_and_junit_file(tmp_path: Path) -> None:
    junit = tmp_path / "out" / "lint.xml"
    code, _, _ = run("lint", "-f", str(EXAMPLES / "incident-scenario-2" / "manifests"), "--junit", str(junit))
    assert code == 1 and "<failure" in junit.read_text()


def test_lint_json_output() -> None:
    code, out, _ = run("lint", str(EXAMPLES / "incident-scenario-2"), "-o", "json")
    assert code == 1 and json.loads(out)["counts"]["errors"] == 1


def test_github_actions_annotations_and_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    code, out, err = run("lint", str(EXAMPLES / "incident-scenario-2"),
                         env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1
    assert "::error file=" in err and "::" not in out and "tier=backend" in summary.read_text()


@pytest.mark.parametrize(("content", "pattern"), [
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: [x\n", "invalid YAML"),
    ("apiVersion: v1\nkind: Sevrice\nmetadata: {name: x}\n", "unknown kind 'Sevrice'"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path: Path, content: str, pattern: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, out, err = run("lint", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and pattern in err and "bad.yaml:" in err
    assert "Traceback" not in err


def test_config_typo_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text("pairz: []\n")
    code, _, err = run("lint", str(EXAMPLES / "incident-scenario-2-fixed" / "manifests"), "--config", str(config))
    assert code == 2 and "gate.yaml:1: pairz: unknown field (did you mean 'pairs'?)" in err


def test_missing_path_and_no_input_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = run("lint", str(tmp_path / "missing"))
    assert code == 2 and "no such file or directory" in err
    code, _, err = run("lint")
    assert code == 2 and "give manifests" in err


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    manifests = tmp_path / "m.yaml"
    manifests.write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8081}]}
""")
    assert run("lint", str(manifests))[0] == 0
    assert run("lint", str(manifests), "--strict")[0] == 1


@pytest.mark.parametrize("args", [["lint", str(EXAMPLES / "incident-scenario-2")], ["--help"], ["--version"],
                                  ["lint", "--help"]])
def test_commands_without_a_cluster_do_not_import_the_kubernetes_client(args: list[str]) -> None:
    probe = ("import sys\nfrom gate.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "print('kubernetes' in sys.modules, 'urllib3' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).parents[2])
    assert result.stderr.splitlines()[-1] == "False False"


@pytest.mark.parametrize("args", [
    ["lint", "-o=json", "-n=video-analytics", f"-f={EXAMPLES / 'incident-scenario-2'}"],
    ["lint", "-ojson", "-nvideo-analytics", f"-f{EXAMPLES / 'incident-scenario-2'}"],
    ["lint", "--output=json", "--namespace=video-analytics", f"--filename={EXAMPLES / 'incident-scenario-2'}"],
])
def test_kubectls_flag_forms_are_understood(args: list[str]) -> None:
    code, out, err = run(*args)
    assert (code, err) == (1, "") and json.loads(out)["command"] == "lint"


def test_a_word_after_double_dash_is_not_a_flag(tmp_path: Path) -> None:
    code, _, err = run("lint", "--", "-o=json")
    assert code == 2 and "-o=json" in err  # a path of that name, which does not exist


@pytest.mark.parametrize(("given", "seconds"), [("5m0s", 300), ("1m30s", 90), ("1h2m3.5s", 3723.5), ("90", 90),
                                                ("500ms", 0.5), ("2m", 120)])
def test_durations_are_go_durations_or_seconds(given: str, seconds: float) -> None:
    from gate.schema import duration

    assert duration(given) == seconds


@pytest.mark.parametrize("given", ["5x", "1m 30s", "-5s", "0s", "1e3", "inf", "nan", ""])
def test_a_duration_flag_refuses_what_go_would_and_zero(given: str) -> None:
    code, _, err = run("verify", str(EXAMPLES / "incident-scenario-2"), f"--rollout-timeout={given}")
    assert code == 2 and "expected a positive duration: seconds or a Go duration" in err


def test_no_command_prints_the_help_on_stdout_and_succeeds() -> None:
    code, out, err = run()
    assert (code, err) == (0, "") and "Commands:" in out and "completion" in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_whose_engine_completes_commands_and_options(shell: str) -> None:
    code, script, _ = run("completion", shell)
    assert code == 0 and "_DEPLOY_GATE_COMPLETE" in script
    # bash and zsh pass the index of the word being completed, fish the word itself
    engine = {"COMP_WORDS": "deploy-gate li", "COMP_CWORD": "li" if shell == "fish" else "1",
              "_DEPLOY_GATE_COMPLETE": f"{shell}_complete"}
    result = CliRunner().invoke(main, [], prog_name="deploy-gate", env=engine)
    assert "lint" in result.stdout
    if shell == "bash":  # the script itself, sourced by bash, registers its function for the command
        defined = subprocess.run(["bash", "-c", f"{script}\ncomplete -p deploy-gate"], capture_output=True,
                                 text=True, check=True).stdout
        assert "_deploy_gate_completion" in defined
