"""JSON for machines: every finding with its outcome, cause, evidence, fix and locations.

The document's shape is docs/json-output.md; `schema_version` changes when a
field is removed or changes meaning (adding one does not).
"""

from __future__ import annotations

import json

from gate.findings import Finding
from gate.report.base import Report

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, object]:
    return {
        "phase": finding.phase,
        "rule": finding.rule,
        "object": {"kind": finding.subject.kind, "namespace": finding.subject.namespace, "name": finding.subject.name},
        "check": finding.title,
        "outcome": finding.outcome.value,
        "severity": finding.severity.value,
        "message": finding.message,
        "evidence": list(finding.evidence),
        "fix": list(finding.fix),
        "locations": [{"file": loc.file, "line": loc.line} for loc in finding.locations],
        "seconds": round(finding.seconds, 3),
    }


def document(command: str, result: str, exit_code: int, **fields: object) -> str:
    """Every JSON document deploy-gate prints: its schema version, the command, the result and the exit code first."""
    return json.dumps({"schema_version": SCHEMA_VERSION, "command": command, "result": result,
                       "exit_code": exit_code, **fields}, indent=2) + "\n"


def render(report: Report) -> str:
    if report.error is not None:
        return document(report.command, report.result, report.exit_code, seconds=round(report.seconds, 3),
                        error={"kind": report.error_kind, "message": report.error})
    return document(report.command, report.result, report.exit_code, seconds=round(report.seconds, 3),
                    counts=report.count(), findings=[finding_dict(f) for f in report.findings],
                    notes=list(report.notes))
