"""GitHub Actions: workflow-command annotations and a step-summary in Markdown.

At most 10 annotations, errors first: GitHub shows only the first few of each
kind on a run, so the most important ones must come first.
"""

from __future__ import annotations

from gate.findings import Finding, Outcome, by_importance
from gate.report.base import Report

MAX_ANNOTATIONS = 10


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(report: Report) -> list[str]:
    failed = [f for f in by_importance(report.findings) if f.outcome is Outcome.FAILED]
    lines = []
    for finding in failed[:MAX_ANNOTATIONS]:
        command = "error" if finding.is_error or report.strict else "warning"
        properties = [f"title={_escape_property(f'deploy-gate {finding.rule}: {finding.title}')}"]
        if finding.locations:
            location = finding.locations[0]
            properties = [f"file={_escape_property(location.file)}", f"line={location.line}", *properties]
        body = "\n".join([finding.message, *(f"fix: {line}" for line in finding.fix)])
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(body)}")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _row(finding: Finding) -> str:
    status = {Outcome.PASSED: "✅ passed", Outcome.NOT_CHECKABLE: "⏭️ not checkable"}.get(
        finding.outcome, "❌ failed" if finding.is_error else "⚠️ warning")
    where = f"`{finding.locations[0]}`" if finding.locations else ""
    return f"| {status} | {finding.phase} | {_cell(finding.title)} | {_cell(finding.message)} | {where} |"


def summary_markdown(report: Report) -> str:
    lines = [f"## deploy-gate {report.command}: {'❌ failed' if report.exit_code else '✅ passed'}", "",
             report.summary(), ""]
    for finding in by_importance(report.findings):
        if finding.outcome is Outcome.FAILED:
            lines += [f"### {finding.title}", "", finding.message, ""]
            lines += [f"- {line}" for line in finding.evidence]
            if finding.fix:
                lines += ["", "**Fix:**", "", "```", *finding.fix, "```"]
            lines.append("")
    lines += ["| result | phase | check | detail | where |", "|---|---|---|---|---|"]
    lines += [_row(f) for f in report.findings]
    return "\n".join(lines) + "\n"
