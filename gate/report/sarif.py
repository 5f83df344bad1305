"""SARIF 2.1.0 for code-scanning UIs: one result per failed (or not checkable) check."""

from __future__ import annotations

import json

from gate import __version__
from gate.findings import Finding, Outcome
from gate.report.base import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_HELP = {
    "service-selector": "A Service selector must match the pod template labels of the workload that backs it.",
    "target-port": "A Service's targetPort must be a port its pods expose (a named one must exist by name).",
    "workload-selector": "A workload's spec.selector must match its own pod template labels.",
    "required-labels": "Pod templates must carry the labels required by gate.yaml.",
    "policy-selector": "A NetworkPolicy should select at least one pod template.",
    "caller-pair": "A declared caller pair must be allowed or denied by NetworkPolicy as declared.",
    "duplicate-object": "An object must be defined once in the set: kubectl apply keeps only the last definition.",
}


def _level(finding: Finding) -> str:
    if finding.outcome is Outcome.NOT_CHECKABLE:
        return "note"
    return finding.severity.value


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, object]:
    text = "\n".join([finding.message, *finding.evidence, *(f"fix: {f}" for f in finding.fix)])
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": _level(finding),
        "message": {"text": text},
    }
    if finding.locations:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": loc.file},
            "region": {"startLine": loc.line, "startColumn": loc.column}}} for loc in finding.locations[:1]]
        if len(finding.locations) > 1:
            result["relatedLocations"] = [{"id": i, "physicalLocation": {
                "artifactLocation": {"uri": loc.file}, "region": {"startLine": loc.line}}}
                for i, loc in enumerate(finding.locations[1:])]
    return result


def _invocation(report: Report) -> dict[str, object]:
    """Whether the run reached a verdict; a run that did not says why, so code scanning does not read it as clean."""
    invocation: dict[str, object] = {"executionSuccessful": report.error is None, "exitCode": report.exit_code}
    if report.error is not None:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": report.error},
                                                     "descriptor": {"id": report.error_kind}}]
    return invocation


def render(report: Report) -> str:
    reported = [f for f in report.findings if f.outcome is not Outcome.PASSED]
    rules = sorted({f.rule for f in report.findings} | {f.rule for f in reported})
    rule_index = {rule: i for i, rule in enumerate(rules)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "deploy-gate",
                "version": __version__,
                "rules": [{"id": rule, "shortDescription": {"text": RULE_HELP.get(rule, rule)}} for rule in rules],
            }},
            "invocations": [_invocation(report)],
            "results": [_result(f, rule_index) for f in reported],
        }],
    }
    return json.dumps(document, indent=2) + "\n"
