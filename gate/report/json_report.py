"""JSON for machines: every finding with its outcome, cause, evidence, fix and locations."""

from __future__ import annotations

import json

from gate.findings import Finding
from gate.report.base import Report


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
        **({"details": finding.extra} if finding.extra else {}),
    }


def render(report: Report) -> str:
    document = {
        "command": report.command,
        "result": "failure" if report.exit_code else "success",
        "exit_code": report.exit_code,
        "seconds": round(report.seconds, 3),
        "counts": report.count(),
        "findings": [finding_dict(f) for f in report.findings],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2) + "\n"
