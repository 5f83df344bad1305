"""GitLab Code Quality (`-o codequality`): every issue is one GitLab's parser keeps and its merge request shows.

The rules are GitLab's: the parser validates each issue against app/validators/json_schemas/codeclimate.json
(description, fingerprint, severity and location required; it stops at the first issue that fails) and keys
issues by fingerprint; its documentation (doc/ci/testing/code_quality.md, "Implement a custom tool") names
check_name, the severities info|minor|major|critical|blocker, location.path relative to the repository root
and location.lines.begin. The widget renders the description as text ({{ }} in codequality_issue_body.vue).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.escape import visible
from gate.findings import Finding, Outcome, Severity, Suppression, fingerprint
from gate.location import Location
from gate.objects import ObjectRef
from gate.report import Report, render
from gate.report.words import WORDS

ROOT = Path(__file__).parents[2]
SEVERITIES = ["info", "minor", "major", "critical", "blocker"]
# GitLab's codeclimate.json, with what its documentation adds made required: a string check_name, a severity
# GitLab knows, and a location its widget links (path and a first line).
ISSUE = {
    "type": "object",
    "required": ["description", "check_name", "fingerprint", "severity", "location"],
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "check_name": {"type": "string", "minLength": 1},
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "severity": {"enum": SEVERITIES},
        "location": {
            "type": "object",
            "required": ["path", "lines"],
            "properties": {
                "path": {"type": "string"},
                "lines": {"type": "object", "required": ["begin"],
                          "properties": {"begin": {"type": "integer", "minimum": 1}}},
            },
        },
    },
}
SCHEMA = {"type": "array", "items": ISSUE}

SERVICE = ObjectRef("Service", "shop", "web")


def failure(rule: str, severity: Severity = Severity.ERROR, *locations: Location, **fields: object) -> Finding:
    return Finding("lint", rule, SERVICE, f"{rule} check", Outcome.FAILED, f"{rule} failed", severity,
                   locations=locations, **fields)


def valid_codequality(text: str) -> list[dict]:
    """The array, after checking it by GitLab's rules: the schema, one fingerprint per issue, repository paths."""
    assert not text.startswith("\ufeff")  # GitLab's parser refuses a byte order mark
    document = json.loads(text)
    jsonschema.Draft7Validator(SCHEMA).validate(document)
    fingerprints = [issue["fingerprint"] for issue in document]
    assert len(set(fingerprints)) == len(fingerprints)
    for issue in document:
        path = PurePosixPath(issue["location"]["path"])
        assert not path.is_absolute() and ".." not in path.parts, path
    return document


def test_only_counting_failures_are_issues_with_their_grades_severity(tmp_path: Path) -> None:
    inside = Location(str(tmp_path / "manifests" / "svc.yaml"), 7)
    findings = (
        failure("service-selector", Severity.ERROR, inside),
        failure("target-port", Severity.WARNING, inside),
        failure("image-tag", Severity.NOTE, inside),
        failure("probes", Severity.ERROR, inside, suppression=Suppression("inSource", "known")),
        Finding("lint", "rollout", SERVICE, "ok", Outcome.PASSED, "fine", locations=(inside,)),
        Finding("lint", "policy", SERVICE, "unknowable", Outcome.NOT_CHECKABLE, "elsewhere", locations=(inside,)),
    )
    issues = valid_codequality(render(Report("lint", findings, 1), "codequality", root=tmp_path))
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("service-selector", "critical"), ("target-port", "minor"), ("image-tag", "info")]
    assert [i["fingerprint"] for i in issues] == [fingerprint(f) for f in findings[:3]]
    assert issues[0]["location"] == {"path": "manifests/svc.yaml", "lines": {"begin": 7}}
    assert issues[0]["description"] == "service-selector: service-selector failed"
    strict = valid_codequality(render(Report("lint", findings[1:2], 1, strict=True), "codequality", root=tmp_path))
    assert strict[0]["severity"] == WORDS[findings[0].grade()].codequality == "critical"  # --strict: an error


def test_the_fingerprint_is_the_one_sarif_and_baselines_use_and_survives_a_reworded_message(tmp_path: Path) -> None:
    finding = failure("service-selector", Severity.ERROR, Location(str(tmp_path / "a.yaml"), 3))
    [issue] = valid_codequality(render(Report("lint", (finding,), 1), "codequality", root=tmp_path))
    moved = Finding(finding.phase, finding.rule, finding.subject, finding.title, Outcome.FAILED, "other words",
                    locations=(Location(str(tmp_path / "b.yaml"), 40),))
    [again] = valid_codequality(render(Report("lint", (moved,), 1), "codequality", root=tmp_path))
    sarif = json.loads(render(Report("lint", (finding,), 1), "sarif", root=tmp_path))
    assert issue["fingerprint"] == again["fingerprint"] == \
        sarif["runs"][0]["results"][0]["partialFingerprints"]["deployGateCheck/v1"]


def test_the_same_check_twice_keeps_two_issues_with_stable_fingerprints(tmp_path: Path) -> None:
    """GitLab keeps one issue per fingerprint: a repeated check (one object in two files) must not vanish."""
    one = failure("service-selector", Severity.ERROR, Location(str(tmp_path / "a.yaml"), 3))
    two = failure("service-selector", Severity.ERROR, Location(str(tmp_path / "b.yaml"), 5))
    text = render(Report("lint", (one, two), 1), "codequality", root=tmp_path)
    first, second = valid_codequality(text)
    assert first["fingerprint"] == fingerprint(one) != second["fingerprint"]
    assert render(Report("lint", (one, two), 1), "codequality", root=tmp_path) == text


def test_a_finding_outside_the_repository_or_from_no_manifest_is_listed_without_a_file(tmp_path: Path) -> None:
    """GitLab needs a location (with none it stops reading the array; with no path its link breaks): the
    empty path is one it shows without a link, and the description still says where the finding was."""
    repo = tmp_path / "repo"
    outside = Location(str(tmp_path / "rendered.yaml"), 4)
    related = failure("caller-pair", Severity.WARNING, outside, Location(str(repo / "gate.yaml"), 13))
    issues = valid_codequality(render(Report("verify", (failure("service-selector", Severity.ERROR, outside),
                                                         failure("rollout"), related), 1), "codequality", root=repo))
    assert [i["location"] for i in issues] == [{"path": "", "lines": {"begin": 1}}, {"path": "", "lines": {"begin": 1}},
                                               {"path": "gate.yaml", "lines": {"begin": 13}}]
    assert issues[0]["description"].endswith(f" (at {outside})")
    assert issues[1]["description"] == "rollout: rollout failed"


@pytest.mark.parametrize("located", [True, False])
def test_a_run_without_a_verdict_is_one_issue_saying_why_never_an_empty_array(tmp_path: Path, located: bool) -> None:
    """An empty array would tell GitLab every issue of the target branch was fixed."""
    where = Location(str(tmp_path / "m.yaml"), 12) if located else None
    report = Report.unfinished("lint", 2, "m.yaml:12: spec.type: unknown", location=where)
    [issue] = valid_codequality(render(report, "codequality", root=tmp_path))
    assert issue["check_name"] == "usage-error" and issue["severity"] == "critical"
    assert issue["description"] == "deploy-gate lint: m.yaml:12: spec.type: unknown"
    assert issue["location"]["path"] == ("m.yaml" if located else "")
    assert issue["fingerprint"] == report.error_fingerprint


HOSTILE_NAME = "it's \"quoted\"\n::error::pwned <script>alert(1)</script> ##[error]x"


def test_hostile_names_parse_back_as_one_line_of_text_and_the_exact_path(tmp_path: Path) -> None:
    file = tmp_path / ('dir "x"/' + HOSTILE_NAME.replace("\n", "") + ".yaml")
    finding = Finding("lint", "service-selector", ObjectRef("Service", "ns", HOSTILE_NAME), HOSTILE_NAME,
                      Outcome.FAILED, HOSTILE_NAME, locations=(Location(str(file), 2),))
    text = render(Report("lint", (finding,), 1), "codequality", root=tmp_path)
    [issue] = valid_codequality(text)
    assert issue["description"] == "service-selector: " + visible(HOSTILE_NAME)
    assert "\n" not in issue["description"] and "\\n::error::" in issue["description"]
    assert issue["location"]["path"] == file.relative_to(tmp_path).as_posix()
    assert not re.search(r"^\s*::", text, re.M)  # JSON opens no line with `::`: JSON_INERT escapes only `##[`


def test_under_github_actions_the_document_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The incident's manifests in a directory whose name holds a legacy workflow command."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "examples" / "incident-scenario-2" / "manifests", "x ##[error]y")
    result = CliRunner().invoke(main, ["lint", "x ##[error]y", "-o", "codequality", "--sarif-root", str(tmp_path)],
                                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""})
    assert result.exit_code == 1 and "##[" not in result.stdout
    [issue] = valid_codequality(result.stdout)
    assert issue["check_name"] == "service-selector"
    assert issue["location"] == {"path": "x ##[error]y/service.yaml", "lines": {"begin": 7}}


def test_the_pipelines_doc_shows_the_codequality_artifact() -> None:
    """docs/pipelines.md's GitLab job parses as YAML and uploads the report GitLab reads."""
    doc = (ROOT / "docs" / "pipelines.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "codequality" in b]
    jobs = [job for block in blocks for job in block.values() if isinstance(job, dict)]
    reports = [job["artifacts"]["reports"]["codequality"] for job in jobs if "artifacts" in job]
    scripts = [line for job in jobs for line in job.get("script", [])]
    assert reports and any(f"-o codequality > {reports[0]}" in line for line in scripts), blocks
