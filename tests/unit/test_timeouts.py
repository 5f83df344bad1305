"""--timeout (the whole run's deadline), the specific deadlines beside it, and --request-timeout (each request's).

The runs go against tests/unit/hostile_server.py in a process of their own, as tests/unit/test_hostile_server.py
does: "item-not-object" serves a Deployment that never rolls out (a deadline failure, exit 1), "drip-list" a
list drip-fed a byte every half second (no recv ever times out).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.github_action import build_argv
from gate.verify.engine import ENDPOINTS_SECONDS, ROLLOUT_SECONDS, Deadlines
from tests.testing.hostile_server import (
    ALLOWED_PAST_DEADLINE,
    HostileApiServer,
    Run,
    deploy_gate,
    deployment,
    error_line,
)

SPECIFIC = ["--rollout-timeout", "30", "--endpoints-timeout", "30"]  # deadlines a run must not wait out here


def verify(server: HostileApiServer, tmp_path: Path, *args: str, config: str | None = None) -> Run:
    """`deploy-gate verify` of the Deployment web with `args`, and gate.yaml `config` when given."""
    manifest = tmp_path / "set.yaml"
    manifest.write_text(yaml.safe_dump(deployment()))
    options = ["--config", str(tmp_path / "gate.yaml")] if config is not None else []
    if config is not None:
        (tmp_path / "gate.yaml").write_text(config)
    return deploy_gate(server, tmp_path, ["verify", "-f", str(manifest), *options, *args])


def assert_timed_out_by(run: Run, seconds: float) -> None:
    """The rollout failed "timed out" (exit 1) at the deadline of `seconds`, not at a later one."""
    assert run.exit_code == 1, (run.exit_code, run.stdout, run.stderr)
    assert "deployment/web did not roll out: timed out: Ready: 0/1" in run.stdout, run.stdout
    assert seconds <= run.seconds <= seconds + ALLOWED_PAST_DEADLINE, run.seconds


# --- which deadline each check gets ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("overall", "rollout", "endpoints", "expected"), [
    (None, None, None, (ROLLOUT_SECONDS, ENDPOINTS_SECONDS)),  # the defaults
    (600.0, None, None, (600.0, 600.0)),  # --timeout alone is every check's (helm's --timeout)
    (10.0, 30.0, None, (10.0, 10.0)),  # the earlier of the two
    (600.0, 30.0, 45.0, (30.0, 45.0)),
    (None, 30.0, None, (30.0, ENDPOINTS_SECONDS)),
])
def test_each_check_deadline_is_the_earlier_of_its_own_and_the_overall_one(
        overall: float | None, rollout: float | None, endpoints: float | None, expected: tuple[float, float]) -> None:
    deadlines = Deadlines.chosen(overall, rollout, endpoints)
    assert (deadlines.rollout, deadlines.endpoints) == expected


# --- verify --timeout ------------------------------------------------------------------------------------------------

def test_the_overall_timeout_ends_a_run_whose_specific_deadlines_are_later(tmp_path: Path) -> None:
    with HostileApiServer("item-not-object") as server:
        run = verify(server, tmp_path, "--timeout", "3", *SPECIFIC)
    assert_timed_out_by(run, 3)


@pytest.mark.parametrize(("config", "args"), [
    ("timeout: 3s\nrollout_timeout: 30\nendpoints_timeout: 30\n", []),  # gate.yaml's timeout
    ("timeout: 30\n", ["--timeout", "3"]),  # the flag over gate.yaml
    ("rollout_timeout: 3\nendpoints_timeout: 3\n", ["--timeout", "30"]),  # the specific ones, earlier
    ("timeout: 3\n", ["--rollout-timeout", "30s", "--endpoints-timeout", "30s"]),  # the overall one, earlier
])
def test_precedence_flag_over_gate_yaml_and_the_earlier_deadline_wins(tmp_path: Path, config: str,
                                                                      args: list[str]) -> None:
    with HostileApiServer("item-not-object") as server:
        run = verify(server, tmp_path, *args, config=config)
    assert_timed_out_by(run, 3)


def test_pairs_not_probed_by_the_overall_deadline_fail_timed_out(tmp_path: Path) -> None:
    """The probes follow the rollouts within the same deadline: none may pass, or be left unsaid, after it."""
    with HostileApiServer("item-not-object") as server:
        run = verify(server, tmp_path, "-o", "json", config="timeout: 3\npairs:\n- from: deployment/web\n"
                                                            "  to: api:80\n  expect: deny\n")
    assert run.exit_code == 1, run.stderr
    assert_timed_out_by(run, 3)
    assert "deployment/web -> api:80 deny: timed out: the run's deadline (--timeout) passed before the probe" \
        in run.stdout, run.stdout


@pytest.mark.parametrize("value", ["5x", "0", "-1", "nan", "inf", ""])
def test_a_bad_timeout_is_exit_2_naming_the_option(value: str) -> None:
    result = CliRunner().invoke(main, ["verify", "-f", "x.yaml", f"--timeout={value}"])
    assert result.exit_code == 2, result.output
    assert "--timeout" in result.stderr and "expected a positive duration" in result.stderr, result.stderr


def test_a_bad_timeout_in_gate_yaml_is_exit_2_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("timeout: 5x\n")
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(deployment()))
    result = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "gate.yaml:1: timeout: expected a positive, finite duration" in result.stderr, result.stderr


# --- --request-timeout -----------------------------------------------------------------------------------------------

def test_a_request_past_the_request_timeout_is_exit_3_naming_it(tmp_path: Path) -> None:
    """A list drip-fed a byte every half second ends at the request's bound, not the run's 30 s deadlines."""
    with HostileApiServer("drip-list") as server:
        run = verify(server, tmp_path, "--request-timeout", "2", *SPECIFIC)
    assert run.exit_code == 3, (run.exit_code, run.stdout, run.stderr)
    line = error_line(run)
    assert "could not verify: list deployments.apps in namespace shop: no complete answer from" in line, line
    assert "within 2 s (--request-timeout)" in line, line
    assert 2 <= run.seconds <= 2 + ALLOWED_PAST_DEADLINE, run.seconds


@pytest.mark.parametrize("zero", ["0", "0s"])
def test_request_timeout_0_leaves_each_request_to_the_run_deadline(tmp_path: Path, zero: str) -> None:
    """kubectl's --request-timeout=0: no bound of its own; the run's deadline still ends the drip."""
    with HostileApiServer("drip-list") as server:
        run = verify(server, tmp_path, "--request-timeout", zero, "--timeout", "3")
    assert run.exit_code == 3, (run.exit_code, run.stdout, run.stderr)
    assert "list deployments.apps in namespace shop: no complete answer from" in error_line(run)
    assert "before the run's deadline" in error_line(run)
    assert 3 <= run.seconds <= 3 + ALLOWED_PAST_DEADLINE, run.seconds


def test_explain_live_bounds_each_request_by_the_request_timeout(tmp_path: Path) -> None:
    with HostileApiServer("drip-list") as server:
        run = deploy_gate(server, tmp_path, ["explain", "--live", "--from", "shop/web", "--to", "shop/web:80",
                                             "--request-timeout", "2s"])
    assert run.exit_code == 3, (run.exit_code, run.stdout, run.stderr)
    assert "no complete answer from" in error_line(run) and "within 2 s (--request-timeout)" in error_line(run)
    assert 2 <= run.seconds <= 2 + ALLOWED_PAST_DEADLINE, run.seconds


@pytest.mark.parametrize(("args", "message"), [
    (["verify", "-f", "x.yaml", "--request-timeout=-1"], "expected a positive duration"),
    (["verify", "-f", "x.yaml", "--request-timeout=2x"], "expected a positive duration"),
    (["explain", "--from", "web", "--to", "web:80", "-f", "x.yaml", "--request-timeout", "2"],
     "--request-timeout need --live"),
])
def test_a_bad_request_timeout_is_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr


# --- the GitHub Action -----------------------------------------------------------------------------------------------

def test_the_action_input_timeout_is_the_flag_in_verify_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_TIMEOUT", "5m")
    monkeypatch.setenv("INPUT_MANIFESTS", "m/")
    assert build_argv() == ["verify", "-f", "m/", "--timeout", "5m", "--junit", "deploy-gate-junit.xml"]
    monkeypatch.setenv("INPUT_MODE", "lint")
    assert build_argv() == ["lint", "-f", "m/", "--junit", "deploy-gate-junit.xml"]
