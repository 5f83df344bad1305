"""Reporters render findings faithfully: JUnit parses, SARIF validates, annotations escape."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from gate.findings import Finding, Outcome, Severity
from gate.location import Location
from gate.objects import ObjectRef
from gate.report import Report, render
from gate.report.github import MAX_ANNOTATIONS, annotations, summary_markdown
from gate.report.junit import classname
from gate.rules import CATALOG
from tests.testing.reports import valid_sarif

SERVICE = ObjectRef("Service", "video-analytics", "inference-api")
FAILED = Finding("endpoints", "service-selector", SERVICE, "inference-api has ready endpoints", Outcome.FAILED,
                 "service/inference-api selects app=inference-api,tier=backend; pods lack tier=backend",
                 evidence=("selector at service.yaml:7",), fix=("kubectl patch deployment inference-api ...",),
                 locations=(Location("manifests/inference-api.yaml", 15),), seconds=1.25)
PASSED = Finding("rollouts", "rollout", ObjectRef("Deployment", "video-analytics", "inference-api"),
                 "inference-api rolled out", Outcome.PASSED, "3/3 ready", seconds=4.5)
WARNING = Finding("lint", "target-port", SERVICE, "port", Outcome.FAILED, "undeclared 9090", Severity.WARNING)
SKIPPED = Finding("lint", "service-selector", ObjectRef("Service", "x", "db"), "db selects pods",
                  Outcome.NOT_CHECKABLE, "no workload in the set")
REPORT = Report("verify", (FAILED, PASSED, WARNING, SKIPPED), 1, 6.0)


def test_junit_has_a_suite_per_phase_and_file_and_the_location_in_the_body() -> None:
    root = ET.fromstring(render(REPORT, "junit"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"deploy-gate lint", "deploy-gate rollouts",
                           "deploy-gate endpoints manifests/inference-api.yaml"}
    endpoints = suites["deploy-gate endpoints manifests/inference-api.yaml"]
    assert endpoints.get("file") == "manifests/inference-api.yaml"
    [case] = endpoints.iter("testcase")
    assert case.get("classname") == "video-analytics.Service"
    assert case.get("name") == "inference-api has ready endpoints"
    assert case.get("time") == "1.250"
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == FAILED.message
    body = (failure.text or "").splitlines()
    assert body[0] == FAILED.message  # GitLab shows the body: the cause comes first
    assert "fix: kubectl patch deployment inference-api ..." in body
    assert body[-1] == "at manifests/inference-api.yaml:15"
    assert suites["deploy-gate rollouts"].get("failures") == "0"
    warning, skipped = suites["deploy-gate lint"].iter("testcase")
    assert warning.find("failure") is None and warning.find("skipped").get("type") == "warning"
    assert warning.get("time") == "0.000"
    assert skipped.find("skipped").get("type") == "not-checkable"


def test_junit_pairs_have_one_classname_in_lint_and_verify() -> None:
    assert classname(ObjectRef("Pair", None, "a -> b:80")) == classname(ObjectRef("Pair", "shop", "a -> b:80"))
    assert classname(ObjectRef("Namespace", None, "shop")) == "cluster.Namespace"


def test_junit_strict_turns_warnings_into_failures() -> None:
    strict = Report("lint", (WARNING,), 1, strict=True)
    assert ET.fromstring(render(strict, "junit")).find(".//failure") is not None


def test_sarif_validates_and_locates_results_relative_to_the_root(tmp_path) -> None:
    spaced = Finding("lint", "target-port", SERVICE, "port", Outcome.FAILED, "undeclared [x](y)", Severity.WARNING,
                     locations=(Location(str(tmp_path / "repo" / "sp ace#1.yaml"), 4),
                                Location("/elsewhere/other file.yaml", 9)))
    report = Report("lint", (FAILED, PASSED, spaced, SKIPPED), 1)
    document = valid_sarif(render(report, "sarif", root=tmp_path / "repo"))
    run = document["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (tmp_path / "repo").as_uri() + "/"
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "warning"]  # not checkable is no alert
    location = results[1]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "sp%20ace%231.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == 4
    assert results[1]["locations"][0]["logicalLocations"] == [
        {"name": "inference-api", "kind": "resource", "fullyQualifiedName": "video-analytics/Service/inference-api"}]
    assert results[1]["relatedLocations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/other%20file.yaml"}
    assert results[1]["message"]["text"] == "undeclared \\[x\\](y)"
    rules = run["tool"]["driver"]["rules"]
    assert all(r["fullDescription"]["text"] and r["help"]["text"] and r["help"]["markdown"]
               and r["helpUri"].startswith("https://") for r in rules)
    again = valid_sarif(render(replace(report, findings=(replace(FAILED, message="other words", seconds=9),)),
                               "sarif", root=tmp_path / "repo"))
    assert again["runs"][0]["results"][0]["partialFingerprints"] == results[0]["partialFingerprints"]


def test_sarif_of_a_run_without_a_verdict_says_why() -> None:
    document = valid_sarif(render(Report.unfinished("verify", 3, "cannot reach the API server"), "sarif"))
    [invocation] = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False and document["runs"][0]["results"] == []


def test_codequality_parses_as_the_array_gitlab_reads(tmp_path) -> None:
    inside = replace(FAILED, locations=(Location(str(tmp_path / "manifests" / "inference-api.yaml"), 15),))
    issues = json.loads(render(replace(REPORT, findings=(inside, PASSED, WARNING, SKIPPED)), "codequality",
                               root=tmp_path))
    assert [(i["check_name"], i["severity"]) for i in issues] == [("service-selector", "critical"),
                                                                 ("target-port", "minor")]
    assert issues[0]["location"] == {"path": "manifests/inference-api.yaml", "lines": {"begin": 15}}
    assert issues[0]["description"] == f"service-selector: {FAILED.message}"


def test_json_report_is_complete() -> None:
    document = json.loads(render(REPORT, "json"))
    assert document["result"] == "failure" and document["exit_code"] == 1
    assert document["counts"] == {"errors": 1, "warnings": 1, "notes": 0, "suppressed": 0, "passed": 1,
                                  "not_checkable": 1}
    assert document["findings"][0]["locations"] == [{"file": "manifests/inference-api.yaml", "line": 15}]


def test_text_report_puts_errors_first_and_hides_passes_unless_verbose() -> None:
    text = render(REPORT, "text")
    assert text.splitlines()[0].startswith("manifests/inference-api.yaml:15:1: error: service/inference-api")
    assert "3/3 ready" not in text and "3/3 ready" in render(REPORT, "text", verbose=True)
    assert text.rstrip().endswith("(6.0 s)")


def test_github_annotations_escape_and_are_capped_most_important_first() -> None:
    tricky = Finding("lint", "r", SERVICE, "a, b: c", Outcome.FAILED, "line1\nline2 100%",
                     locations=(Location("dir/file,1.yaml", 3),))
    many = Report("lint", (WARNING,) + (tricky,) * 12, 1)
    lines = annotations(many)
    assert len(lines) == MAX_ANNOTATIONS
    assert lines[0].startswith("::error file=dir/file%2C1.yaml,line=3,title=deploy-gate r%3A a%2C b%3A c::")
    assert "line1\\nline2 100%25" in lines[0]  # a newline in a one-line message is shown, not obeyed
    assert lines[-1].startswith("::error")  # the warning did not make the cut


def test_step_summary_has_the_cause_and_fix() -> None:
    markdown = summary_markdown(REPORT)
    assert "## deploy-gate verify: ❌ failed" in markdown
    assert "kubectl patch deployment inference-api" in markdown
    assert "| ❌ failed | endpoints | inference-api has ready endpoints |" in markdown


def test_every_rule_the_checks_emit_has_sarif_help() -> None:
    """Rule ids as the checks write them: a rule module's `ID = "id"`, `Finding(phase, "id"`, `Check(..., "id"`."""
    source = "\n".join(path.read_text() for path in (Path(__file__).parents[2] / "gate").rglob("*.py"))
    emitted = set(re.findall(r'^ID = "([a-z-]+)"', source, re.MULTILINE))
    emitted |= set(re.findall(r'\bFinding\([\w.]+, "([a-z-]+)"', source))
    emitted |= set(re.findall(r'\bCheck\(Phase\.[A-Z]+, .*?, "([a-z-]+)"(?:,|\))', source))
    assert {"service-selector", "caller-pair", "rollout", "endpoints"} <= emitted  # the patterns still match
    assert emitted <= set(CATALOG)
