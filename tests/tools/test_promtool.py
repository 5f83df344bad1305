"""The synthetic check's alerts checked and unit-tested with promtool, and deploy-gate's metrics accepted by it.

promtool is built from the Go module proxy (tests/cluster/build.py): this is the tools tier, which
`.ci/run` runs; the unit tier (tests/unit) needs nothing beyond `pip install -e .[test]`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import write_to_textfile

from gate.findings import Finding, Outcome, Severity
from gate.objects import ObjectRef
from gate.report import Report
from gate.report.metrics import registry

SYNTHETIC = Path(__file__).parents[2] / "examples" / "synthetic-check"
FINISHED = 1_795_000_000.0


def finding(subject: ObjectRef, outcome: Outcome, severity: Severity = Severity.ERROR) -> Finding:
    return Finding("endpoints", "rule", subject, f"{subject.name} checked", outcome, "why", severity)


@pytest.fixture(scope="module")
def promtool() -> Path:
    if shutil.which("go") is None:
        pytest.skip("promtool is built from the Go module proxy (tests/cluster/build.py) and `go` is not installed")
    from tests.cluster import build

    return build.binary("promtool")


def promtool_run(promtool: Path, *args: str, cwd: Path, stdin: Path | None = None) -> str:
    """promtool's output, after asserting it succeeded; stdin is a file's bytes (a text read would turn CR to LF)."""
    with open(stdin or os.devnull, "rb") as data:
        result = subprocess.run([str(promtool), *args], cwd=cwd, stdin=data, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def rule_files(tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a rule file, and the test file beside it (it names the file)."""
    rule = yaml.safe_load((SYNTHETIC / "prometheus-rules.yaml").read_text())
    (tmp_path / "prometheus-rules.groups.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(SYNTHETIC / "prometheus-rules.test.yaml", tmp_path)
    return tmp_path


def test_promtool_checks_the_rules(promtool: Path, rule_files: Path) -> None:
    assert "SUCCESS: 4 rules found" in promtool_run(promtool, "check", "rules", "prometheus-rules.groups.yaml",
                                                    cwd=rule_files)


def test_promtool_unit_tests_of_the_alerts_pass(promtool: Path, rule_files: Path) -> None:
    assert "SUCCESS" in promtool_run(promtool, "test", "rules", "prometheus-rules.test.yaml", cwd=rule_files)


def test_promtool_accepts_the_metrics(promtool: Path, tmp_path: Path) -> None:
    hostile = Report("verify", (finding(ObjectRef("Service", "shop", 'a"\\\n\x1b\r}'), Outcome.FAILED),), 1)
    verify = Report("verify", (finding(ObjectRef("Service", "shop", "api"), Outcome.FAILED),
                               finding(ObjectRef("Deployment", "shop", "web"), Outcome.PASSED),
                               finding(ObjectRef("Pair", "shop", "b -> api:80 deny"), Outcome.NOT_CHECKABLE,
                                       Severity.WARNING)), 1, 12.5)
    for report in (verify, hostile, Report.unfinished("verify", 3, "cannot reach the API server")):
        write_to_textfile(str(tmp_path / "gate.prom"), registry(report, FINISHED))
        promtool_run(promtool, "check", "metrics", cwd=tmp_path, stdin=tmp_path / "gate.prom")
