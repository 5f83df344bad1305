"""JSON for machines: every finding with its outcome, cause, evidence, fix and locations.

The document's shape is docs/json-output.md, and the JSON Schema shipped beside
this module (schema/report.schema.json); `schema_version` changes when a field is
removed or changes meaning (adding one does not).
"""

from __future__ import annotations

import json

from gate.findings import Finding
from gate.report.base import Report, unicode_text
from gate.report.words import WORDS

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, object]:
    return {
        "phase": finding.phase,
        "rule": finding.rule,
        "object": {"kind": finding.subject.kind, "namespace": finding.subject.namespace, "name": finding.subject.name},
        "check": finding.title,
        "outcome": WORDS[finding.grade()].json,
        "severity": finding.severity.value,
        "message": finding.message,
        "evidence": list(finding.evidence),
        "fix": list(finding.fix),
        "locations": [{"file": loc.file, "line": loc.line} for loc in finding.locations],
        "seconds": round(finding.seconds, 3),
        **({"suppression": {"kind": finding.suppression.kind, "justification": finding.suppression.justification}}
           if finding.suppression else {}),
        **({"baseline": finding.baseline} if finding.baseline else {}),
    }


def _unicode(value: object) -> object:
    """value with every string in it valid Unicode (unicode_text), so the document is UTF-8 and I-JSON."""
    if isinstance(value, str):
        return unicode_text(value)
    if isinstance(value, dict):
        return {_unicode(key): _unicode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unicode(item) for item in value]
    return value


def dumps(value: object) -> str:
    """A JSON document as deploy-gate prints it: indented, every string valid Unicode, a final newline."""
    return json.dumps(_unicode(value), indent=2) + "\n"


def document(command: str, result: str, exit_code: int, **fields: object) -> str:
    """Every JSON document deploy-gate prints: its schema version, the command, the result and the exit code first."""
    return dumps({"schema_version": SCHEMA_VERSION, "command": command, "result": result, "exit_code": exit_code,
                  **fields})


def render(report: Report, **extra: object) -> str:
    """The document of a run; `extra`: a command's own fields after the common ones (explain's verdict)."""
    if report.error is not None:
        where = report.error_location
        location = {"location": {"file": where.file, "line": where.line}} if where else {}
        return document(report.command, report.result, report.exit_code, seconds=round(report.seconds, 3),
                        error={"kind": report.error_kind, "message": report.error, **location})
    return document(report.command, report.result, report.exit_code, seconds=round(report.seconds, 3),
                    counts=report.count(), findings=[finding_dict(f) for f in report.findings],
                    notes=list(report.notes), **extra)
