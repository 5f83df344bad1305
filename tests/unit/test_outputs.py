"""Every report deploy-gate writes is one its consumers accept, for each command and every exit: JUnit against
Jenkins xunit's junit-10.xsd (lxml), SARIF 2.1.0 with format checking, JSON that parses and carries
schema_version; a stale report never survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.findings import Finding, Outcome, Severity
from gate.location import Location
from gate.objects import ObjectRef
from gate.report import Report, render
from tests.testing.cli import run
from tests.testing.reports import UNREACHABLE, valid_junit, valid_sarif

EXAMPLES = Path(__file__).parents[2] / "examples"
STALE = '<testsuites><testsuite name="old" tests="1" failures="1" errors="0"><testcase name="old"><failure/>' \
        '</testcase></testsuite></testsuites>'


@pytest.fixture
def unreachable(tmp_path: Path) -> Path:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE)
    return kubeconfig


EXPLAIN = ("explain", "--to", "video-analytics/inference-api:8080", "-f",
           str(EXAMPLES / "incident-scenario-2-fixed" / "manifests"), "--from")
COMMANDS = [  # each command's pass, fail and error
    (("lint", str(EXAMPLES / "incident-scenario-2-fixed")), 0),
    (("lint", str(EXAMPLES / "incident-scenario-2")), 1),
    (("lint", "missing-directory"), 2),
    (("verify", str(EXAMPLES / "incident-scenario-2"), "--kubeconfig", "{kubeconfig}"), 3),
    ((*EXPLAIN, "video-analytics/api-gateway"), 0),
    ((*EXPLAIN, "video-analytics/web-frontend"), 1),
    ((*EXPLAIN, "video-analytics/nobody"), 2),
]


@pytest.mark.parametrize(("args", "code"), COMMANDS)
def test_sarif_of_every_command_and_exit_validates(unreachable: Path, args: tuple[str, ...], code: int) -> None:
    exit_code, out, _ = run(*[arg.format(kubeconfig=unreachable) for arg in args], "-o", "sarif")
    document = valid_sarif(out)
    assert exit_code == code
    assert document["runs"][0]["invocations"][0]["executionSuccessful"] is (code < 2)
    # one error where lint fails: the incident's pair that cannot connect is a warning pointing at it
    assert sum(result["level"] == "error" for result in document["runs"][0]["results"]) == (code == 1)


@pytest.mark.parametrize(("args", "code"), [
    *COMMANDS,
    (("verify", str(EXAMPLES / "incident-scenario-2"), "-n", "other", "--kubeconfig", "{kubeconfig}"), 2),
    (("verify", "x", "--rollout-timeout", "soon"), 2),  # click rejects it before the command runs
    (("lint", "--no-such-option"), 2),
    (("--no-such-option", "lint"), 2),
    (("verify", "--from-apply-output", "missing.txt", "--kubeconfig", "{kubeconfig}"), 2),
])
def test_every_exit_replaces_the_junit_file_with_a_valid_one(tmp_path: Path, unreachable: Path,
                                                             args: tuple[str, ...], code: int) -> None:
    junit = tmp_path / "reports" / "junit.xml"
    junit.parent.mkdir()
    junit.write_text(STALE)
    argv = [arg.format(kubeconfig=unreachable) for arg in args]
    assert run(*argv, "--junit", str(junit))[0] == code
    document = valid_junit(junit.read_text())
    assert document.find(".//testsuite[@name='old']") is None
    if code >= 2:  # no verdict: one errored testcase saying why
        [error] = document.iter("error")
        assert error.get("message") and error.text.startswith(error.get("message"))
        assert document.get("errors") == "1"
    else:
        assert all(case.get("time") for case in document.iter("testcase"))
        assert len(list(document.iter("failure"))) == code


def test_an_interrupted_run_writes_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr("gate.inputs.load", interrupt)
    junit = tmp_path / "junit.xml"
    junit.write_text(STALE)
    code, out, _ = run("lint", "x", "--junit", str(junit), "-o", "sarif")
    assert code == 130 and json.loads(out)["runs"][0]["invocations"][0]["executionSuccessful"] is False
    [error] = valid_junit(junit.read_text()).iter("error")
    assert error.get("type") == "interrupted"


def test_lint_junit_keeps_the_location_and_starts_the_body_with_the_cause(tmp_path: Path) -> None:
    junit = tmp_path / "lint.xml"
    _, out, _ = run("lint", str(EXAMPLES / "incident-scenario-2"), "--junit", str(junit), "-o", "json")
    [error] = [f for f in json.loads(out)["findings"] if f["outcome"] == "failed" and f["severity"] == "error"]
    where = error["locations"][0]
    document = valid_junit(junit.read_text())
    [failure] = document.iter("failure")
    suite = failure.getparent().getparent()
    assert suite.get("file") == where["file"]
    assert suite.get("name") == f"deploy-gate lint {suite.get('file')}"  # no doubled "lint lint"
    body = failure.text.splitlines()
    assert body[0] == failure.get("message") == error["message"] and "tier=backend" in body[0]
    assert body[-1] == f"at {where['file']}:{where['line']}"
    assert {case.get("classname") for case in document.iter("testcase") if "->" in case.get("name")} == {"Pair"}


VERIFY = Report("verify", (
    Finding("rollouts", "rollout", ObjectRef("Deployment", "shop", "web"), "web rolled out", Outcome.PASSED,
            "3/3 ready", seconds=31.502000000000002, locations=(Location("m/web.yaml", 1),)),
    Finding("endpoints", "service-selector", ObjectRef("Service", "shop", "web"), "web has ready endpoints",
            Outcome.FAILED, "service/web selects tier=backend; pods lack it", evidence=("3 pods running",),
            fix=("kubectl patch ...",), locations=(Location("m/svc.yaml", 7),), seconds=1.0004),
    Finding("connectivity", "caller-pair", ObjectRef("Pair", "shop", "a -> web:80"), "a -> web:80",
            Outcome.FAILED, "policy says deny but traffic passed", Severity.WARNING, seconds=2),
    Finding("connectivity", "caller-pair", ObjectRef("Pair", "shop", "b -> web:80"), "b -> web:80",
            Outcome.NOT_CHECKABLE, "service/web has no ready endpoints", seconds=0),
), 1, 34.5)


def test_verify_junit_is_valid_with_times_in_milliseconds() -> None:
    document = valid_junit(render(VERIFY, "junit"))
    assert [case.get("time") for case in document.iter("testcase")] == ["31.502", "1.000", "2.000", "0.000"]
    assert [s.get("time") for s in document.iter("testsuite")] == ["31.502", "1.000", "2.000"]
    assert {s.get("type") for s in document.iter("skipped")} == {"warning", "not-checkable"}
    assert valid_junit(render(Report("verify", (), 0), "junit")).get("tests") == "0"


def test_json_on_every_exit_has_schema_version(unreachable: Path) -> None:
    for args, code in ((("lint", str(EXAMPLES / "incident-scenario-2")), 1),
                       (("verify", str(EXAMPLES / "incident-scenario-2"), "--kubeconfig", str(unreachable)), 3),
                       (("lint", "missing-directory"), 2),
                       (("verify", "x", "--rollout-timeout", "soon"), 2),
                       (("explain", "--from", "video-analytics/web-frontend",
                         "--to", "video-analytics/inference-api:8080",
                         "-f", str(EXAMPLES / "incident-scenario-2" / "manifests")), 1),
                       (("explain", "--from", "x", "--to", "nope"), 2)):
        exit_code, out, _ = run(*args, "-o", "json")
        document = json.loads(out)
        assert exit_code == code and document["exit_code"] == code and document["schema_version"] == 1
        if code >= 2:
            assert document["result"] == "error" and document["error"]["message"]
