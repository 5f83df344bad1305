"""GitLab Code Quality: the JSON array GitLab reads from `artifacts:reports:codequality` into merge requests.

Each issue has what GitLab's parser requires (app/validators/json_schemas/codeclimate.json: `description`,
`fingerprint`, `severity`, `location`) and what its widget and diff view use (`check_name`, `location.path`
relative to the repository root, `location.lines.begin`). GitLab stops reading the array at the first issue
its schema rejects, and it keys issues by fingerprint: every issue here is complete, and no two share one.

An issue is a failure that counts (error, warning, note; the severity is its grade's, --strict included): a
suppressed failure does not count, and a check that passed or could not be made is no violation (JSON and
JUnit carry them). Its fingerprint is the one SARIF and baselines use (gate.findings.fingerprint), so GitLab
tells a new failure from a fixed one across pipelines. Its path is its first location inside the repository
root (`--sarif-root`, else the git top-level); a finding with none there, an object from no manifest, is
listed with the empty path, which GitLab shows without a file link, and its description says where it was.
GitLab renders the description as text; it is one line, its control characters shown.

A run without a verdict has one issue saying why, at the input's file:line when known: an empty array would
tell GitLab that every earlier issue was fixed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gate.escape import visible
from gate.findings import Finding, Grade, fingerprint
from gate.location import Location
from gate.report.base import Report, repository_path, source_root
from gate.report.json_report import dumps
from gate.report.words import WORDS


def _located(locations: tuple[Location, ...], root: Path) -> tuple[dict[str, object], str]:
    """GitLab's location: the first file inside the root, and the text a description adds when there is none."""
    for location in locations:
        relative = repository_path(location.file, root)
        if relative is not None:
            return {"path": relative.as_posix(), "lines": {"begin": location.line}}, ""
    elsewhere = f" (at {locations[0]})" if locations else ""
    return {"path": "", "lines": {"begin": 1}}, elsewhere


def _issue(check_name: str, text: str, severity: str | None, identity: str, locations: tuple[Location, ...],
           root: Path) -> dict[str, object]:
    location, elsewhere = _located(locations, root)
    return {"description": visible(text + elsewhere), "check_name": check_name, "fingerprint": identity,
            "severity": severity, "location": location}


def _finding_issue(finding: Finding, strict: bool, root: Path) -> dict[str, object]:
    return _issue(finding.rule, f"{finding.rule}: {finding.message}", WORDS[finding.grade(strict)].codequality,
                  fingerprint(finding), finding.locations, root)


def _unique(issues: list[dict[str, object]]) -> list[dict[str, object]]:
    """Each issue its own fingerprint: one repeated (the same check of the same object twice) gets its count
    hashed in, so GitLab, which keeps one issue per fingerprint, keeps both; the first keeps the plain one."""
    seen: dict[object, int] = {}
    for issue in issues:
        identity = issue["fingerprint"]
        seen[identity] = repeats = seen.get(identity, 0) + 1
        if repeats > 1:
            issue["fingerprint"] = hashlib.sha256(f"{identity}\0{repeats}".encode()).hexdigest()
    return issues


def render(report: Report, root: Path | None = None) -> str:
    """The Code Quality array; paths are relative to `root` (default: the working directory)."""
    root = source_root(root)
    if report.error is not None:
        where = (report.error_location,) if report.error_location else ()
        return dumps([_issue(report.error_kind, f"deploy-gate {report.command}: {report.error}",
                             WORDS[Grade.ERROR].codequality, report.error_fingerprint, where, root)])
    issues = [_finding_issue(finding, report.strict, root) for finding in report.findings
              if finding.grade(report.strict).counts]
    return dumps(_unique(issues))
