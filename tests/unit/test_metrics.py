"""`verify --metrics-file`: Prometheus gauges parsed back with prometheus_client's own parser, written on every
exit (promtool's checks of the same files: tests/tools/test_promtool.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gate.cli import main
from gate.findings import Finding, Outcome, Severity
from gate.objects import ObjectRef
from gate.report import Report
from gate.report.metrics import registry
from tests.testing.reports import UNREACHABLE

SYNTHETIC = Path(__file__).parents[2] / "examples" / "synthetic-check"
FINISHED = 1_795_000_000.0
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def finding(phase: str, subject: ObjectRef, outcome: Outcome, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(phase, "rule", subject, f"{subject.name} checked", outcome, "why", severity)


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """metric name -> its samples' sorted labels -> value."""
    parsed: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return parsed


def exposition(report: Report) -> str:
    return generate_latest(registry(report, FINISHED)).decode("utf-8")


def check(phase: str, name: str, namespace: str, outcome: str | None = None) -> tuple[tuple[str, str], ...]:
    labels = {"check": phase, "object": name, "namespace": namespace} | ({"outcome": outcome} if outcome else {})
    return tuple(sorted(labels.items()))


WEB, API = ObjectRef("Deployment", "shop", "web"), ObjectRef("Service", "shop", "api")
PAIR = ObjectRef("Pair", "shop", "deployment/web -> api:80 allow")
VERIFY = Report("verify", (
    finding("rollouts", WEB, Outcome.PASSED),
    finding("endpoints", API, Outcome.FAILED),
    finding("connectivity", PAIR, Outcome.FAILED, Severity.WARNING),
    finding("connectivity", ObjectRef("Pair", "shop", "deployment/b -> api:80 deny"), Outcome.NOT_CHECKABLE),
    finding("rollouts", ObjectRef("ClusterRole", None, "reader"), Outcome.PASSED),
    finding("rollouts", ObjectRef("ClusterRole", None, "reader"), Outcome.NOT_CHECKABLE),  # the worst counts
), 1, 12.5)


def test_every_outcome_and_the_run_gauges_parse_back() -> None:
    parsed = samples(exposition(VERIFY))
    assert parsed["deploy_gate_check_passed"] == {
        check("rollouts", "deployment/web", "shop"): 1,
        check("endpoints", "service/api", "shop"): 0,
        check("connectivity", "deployment/web -> api:80 allow", "shop"): 0,  # a warning is a failed check too
    }  # not checkable: no sample, so an alert on 0 cannot fire on it
    assert parsed["deploy_gate_check_outcome"] == {
        check("rollouts", "deployment/web", "shop", "passed"): 1,
        check("endpoints", "service/api", "shop", "failed"): 1,
        check("connectivity", "deployment/web -> api:80 allow", "shop", "warning"): 1,
        check("connectivity", "deployment/b -> api:80 deny", "shop", "not-checkable"): 1,
        check("rollouts", "clusterrole/reader", "", "not-checkable"): 1,
    }
    assert parsed["deploy_gate_last_run_timestamp_seconds"] == {(): FINISHED}
    assert parsed["deploy_gate_run_duration_seconds"] == {(): 12.5}
    assert parsed["deploy_gate_exit_code"] == {(): 1}
    assert parsed["deploy_gate_judged"] == {(): 1}


def test_a_run_without_a_verdict_says_it_could_not_judge() -> None:
    parsed = samples(exposition(Report.unfinished("verify", 3, "cannot reach the API server", 0.25)))
    assert "deploy_gate_check_passed" not in parsed and "deploy_gate_check_outcome" not in parsed
    assert parsed["deploy_gate_judged"] == {(): 0} and parsed["deploy_gate_exit_code"] == {(): 3}
    assert parsed["deploy_gate_run_duration_seconds"] == {(): 0.25}


@pytest.mark.parametrize("name", ['a"b', "a\\b", "a\nb", 'x"} deploy_gate_judged 1\n#', "\\n\\\"", "\x1b[2K\r"])
def test_a_hostile_name_round_trips(name: str) -> None:
    report = Report("verify", (finding("connectivity", ObjectRef("Pair", "shop", name), Outcome.FAILED),), 1)
    text = exposition(report)
    assert samples(text)["deploy_gate_check_passed"] == {check("connectivity", name, "shop"): 0}
    assert [line for line in text.splitlines() if line.startswith("deploy_gate_judged")] == ["deploy_gate_judged 1.0"]


def test_a_lone_surrogate_is_escaped_not_a_crash() -> None:
    report = Report("verify", (finding("rollouts", ObjectRef("Deployment", "shop", "w\ud800"), Outcome.PASSED),), 0)
    assert samples(exposition(report))["deploy_gate_check_passed"] == {check("rollouts", "deployment/w\\ud800",
                                                                             "shop"): 1}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "kubeconfig").write_text(UNREACHABLE)
    (tmp_path / "svc.yaml").write_text(SERVICE)
    (tmp_path / "textfile").mkdir()
    (tmp_path / "textfile" / "gate.prom").write_text("deploy_gate_judged 1\n")  # the last run's, replaced
    return tmp_path


def verify(workdir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", str(workdir / "svc.yaml"), "--kubeconfig", str(workdir / "kubeconfig"),
                                       "--metrics-file", str(workdir / "textfile" / "gate.prom"), *args])
    return result.exit_code, result.stderr


def written(workdir: Path) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The file's samples, after checking the rename left nothing beside it for the collector to trip on."""
    assert [path.name for path in (workdir / "textfile").iterdir()] == ["gate.prom"]
    return samples((workdir / "textfile" / "gate.prom").read_text())


def test_a_failing_run_writes_its_checks(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = finding("endpoints", ObjectRef("Service", "shop", "web"), Outcome.FAILED)
    monkeypatch.setattr("gate.verify.engine.Verification.run", lambda _self: [failed])
    assert verify(workdir)[0] == 1
    parsed = written(workdir)
    assert parsed["deploy_gate_check_passed"] == {check("endpoints", "service/web", "shop"): 0}
    assert parsed["deploy_gate_judged"] == {(): 1} and parsed["deploy_gate_exit_code"] == {(): 1}


@pytest.mark.parametrize(("args", "code"), [
    ((), 3),  # the API server is not there
    (("--rollout-timeout", "soon"), 2),  # click rejects it before the command runs
    (("-n", "other"), 2),  # the manifest names another namespace
])
def test_a_run_without_a_verdict_writes_the_file(workdir: Path, args: tuple[str, ...], code: int) -> None:
    assert verify(workdir, *args)[0] == code
    parsed = written(workdir)
    assert parsed["deploy_gate_judged"] == {(): 0} and parsed["deploy_gate_exit_code"] == {(): code}
    assert parsed["deploy_gate_last_run_timestamp_seconds"][()] > FINISHED


def test_an_unwritable_metrics_file_is_a_usage_error_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify", "x.yaml", "--metrics-file", str(tmp_path / "missing" / "g.prom")])
    assert result.exit_code == 2
    assert f"--metrics-file {tmp_path / 'missing' / 'g.prom'}: directory {tmp_path / 'missing'} does not exist" \
        in result.stderr
    assert not (tmp_path / "missing").exists()
