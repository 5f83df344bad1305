"""SARIF 2.1.0 for code scanning: one result per failed check, located relative to the repository root.

GitHub code scanning resolves `artifactLocation.uri` against the checkout, so
a manifest inside the root is a percent-encoded relative URI with
`uriBaseId: %SRCROOT%` (declared in `originalUriBaseIds`); one outside stays an
absolute `file://` URI. Every result also names its object as a logical
location (`namespace/Kind/name`); one that came from no manifest (apply output,
Argo CD, explain) has only that, which code scanning cannot place in a file. A
check that could not be made is not an alert and is left out (JSON and JUnit
carry it). A run ended by an input error whose file:line is known (exit 2) has
one result there, besides the invocation's notification. `partialFingerprints` identify a result
across runs by rule, object and check, never by counts or pod names that change.

A suppressed failure is a result with `suppressions` (`inSource`: the object's annotation;
`external`: gate.yaml or the baseline) and its justification; with --baseline every result
has `baselineState`, and each entry no longer met is an `absent` result of kind `pass`.
`automationDetails.id` is `deploy-gate/<command>/`, so the lint and the verify upload of
one workflow are two analyses and neither closes the other's alerts.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from gate import __version__
from gate.escape import visible
from gate.findings import BaselineEntry, Finding, fingerprint, subject_path
from gate.location import Location
from gate.report.base import Report, repository_path, source_root
from gate.report.json_report import dumps
from gate.report.words import WORDS
from gate.rules import CATALOG

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
README = "https://github.com/deploy-gate/deploy-gate#readme"
LINT_HELP = "https://github.com/deploy-gate/deploy-gate/blob/main/docs/lint.md"
VERIFY_HELP = "https://github.com/deploy-gate/deploy-gate/blob/main/docs/verify.md"


def sarif_text(text: str) -> str:
    """Plain message text: `[` and `]` escaped so no `[text](target)` becomes an embedded link (SARIF 3.11.6)."""
    return visible(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _artifact(location: Location, root: Path) -> dict[str, str]:
    relative = repository_path(location.file, root)
    if relative is not None:  # the file name's bytes, percent-encoded: exact even when they are not UTF-8
        return {"uri": quote(os.fsencode(relative.as_posix()), safe="/"), "uriBaseId": SRCROOT}
    return {"uri": Path(os.path.abspath(location.file)).as_uri()}


def _level(finding: Finding, strict: bool) -> str:
    """Its grade's level (a warning with --strict is an error); a suppressed failure keeps its severity's."""
    return WORDS[finding.grade(strict)].sarif or finding.severity.value


def _logical(subject: str, name: str) -> dict[str, object]:
    return {"logicalLocations": [{"name": name, "kind": "resource", "fullyQualifiedName": subject}]}


def _result(finding: Finding, rule_index: dict[str, int], strict: bool, root: Path) -> dict[str, object]:
    text = "\n".join(sarif_text(line) for line in
                     [finding.message, *finding.evidence, *(f"fix: {f}" for f in finding.fix)])
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": _level(finding, strict),
        "message": {"text": text},
        "partialFingerprints": {"deployGateCheck/v1": fingerprint(finding)},
    }
    if finding.suppression is not None:
        result["suppressions"] = [{"kind": finding.suppression.kind, "status": "accepted",
                                   "justification": sarif_text(finding.suppression.justification)}]
    if finding.baseline is not None:
        result["baselineState"] = finding.baseline
    location = _logical(subject_path(finding.subject), finding.subject.name)
    result["locations"] = [location]
    if finding.locations:
        first, *others = finding.locations
        location["physicalLocation"] = {"artifactLocation": _artifact(first, root),
                                        "region": {"startLine": first.line, "startColumn": 1}}
        if others:
            result["relatedLocations"] = [{"id": i, "physicalLocation": {
                "artifactLocation": _artifact(loc, root), "region": {"startLine": loc.line}}}
                for i, loc in enumerate(others)]
    return result


def _absent_result(entry: BaselineEntry, rule_index: dict[str, int]) -> dict[str, object]:
    """A baseline entry no finding matched any more: fixed, or its object gone; the file can shrink."""
    return {"ruleId": entry.rule, "ruleIndex": rule_index[entry.rule], "kind": "pass", "level": "none",
            "message": {"text": sarif_text(f"no longer occurs: {entry.message}")}, "baselineState": "absent",
            "partialFingerprints": {"deployGateCheck/v1": entry.fingerprint},
            "locations": [_logical(entry.subject, entry.subject.rpartition("/")[2])]}


def _rule(rule: str) -> dict[str, object]:
    """The rule's metadata, from the catalog (gate/rules/)."""
    known = CATALOG.get(rule)
    description, fix = (known.summary, known.fix) if known else (rule, "See the result's fix.")
    help_uri = (LINT_HELP if known.check else VERIFY_HELP) if known else README
    return {"id": rule, "shortDescription": {"text": description.split(";")[0].split(":")[0].rstrip(".") + "."},
            "fullDescription": {"text": description}, "helpUri": help_uri,
            "help": {"text": f"{description}\nFix: {fix}", "markdown": f"{description}\n\n**Fix:** {fix}"}}


# Rules for a run that ended without a verdict, by Report.error_kind: a result only when the input's line is known.
ERROR_RULES = {"usage-error": "An input (a manifest, gate.yaml, the command line) cannot be used: the run ended "
                              "without a verdict (exit 2)."}


def _error_result(report: Report, root: Path) -> dict[str, object]:
    """The error of an unfinished run, at the input's file:line, so code scanning shows it on that line."""
    location = report.error_location
    assert location is not None
    return {"ruleId": report.error_kind, "ruleIndex": 0, "level": "error",
            "message": {"text": sarif_text(report.error or "")},
            "partialFingerprints": {"deployGateCheck/v1": report.error_fingerprint},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(location, root),
                                                "region": {"startLine": location.line, "startColumn": 1}}}]}


def _error_rule(kind: str) -> dict[str, object]:
    description = ERROR_RULES.get(kind, f"The run ended without a verdict ({kind}).")
    return {"id": kind, "shortDescription": {"text": description.split(":")[0] + "."},
            "fullDescription": {"text": description}, "helpUri": README,
            "help": {"text": description, "markdown": description}}


def _invocation(report: Report) -> dict[str, object]:
    """Whether the run reached a verdict; a run that did not says why, so code scanning does not read it as clean."""
    invocation: dict[str, object] = {"executionSuccessful": report.error is None, "exitCode": report.exit_code}
    if report.error is not None:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": sarif_text(report.error)},
                                                     "descriptor": {"id": report.error_kind}}]
    return invocation


def render(report: Report, root: Path | None = None) -> str:
    """The SARIF log; paths inside `root` (default: the working directory) are relative to %SRCROOT%."""
    root = source_root(root)
    reported = [f for f in report.findings if f.grade().failed]
    rules = sorted({f.rule for f in report.findings} | {entry.rule for entry in report.absent})
    rule_index = {rule: i for i, rule in enumerate(rules)}
    located_error = report.error is not None and report.error_location is not None
    results = [_error_result(report, root)] if located_error else []
    results += [_result(f, rule_index, report.strict, root) for f in reported]
    results += [_absent_result(entry, rule_index) for entry in report.absent]
    descriptors = [_error_rule(report.error_kind)] if located_error else [_rule(rule) for rule in rules]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "deploy-gate", "version": __version__, "informationUri": README,
                                "rules": descriptors}},
            "automationDetails": {"id": f"deploy-gate/{report.command}/"},
            "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
            "invocations": [_invocation(report)],
            "results": results,
        }],
    }
    return dumps(document)
