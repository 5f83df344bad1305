"""Plain text: `file:line:col: severity: message`, evidence and fix indented beneath."""

from __future__ import annotations

from gate.escape import visible
from gate.findings import Finding, Grade, by_importance
from gate.report.base import Report
from gate.report.words import WORDS
from gate.rules import caller_pair


def _head(finding: Finding, level: str) -> str:
    where = f"{finding.locations[0]}:1: " if finding.locations else ""  # column 1: no finding knows a column
    return f"{where}{level}: {finding.message}"


def render_finding(finding: Finding, level: str) -> list[str]:
    """The finding's lines; text from the input (names, labels, files) cannot add a line or a control sequence."""
    lines = [visible(_head(finding, level))]
    lines += [f"    {visible(line)}" for line in finding.evidence]
    lines += [f"    fix: {visible(line)}" for line in finding.fix]
    return lines


def level_of(finding: Finding) -> str | None:
    """The word a line starts with; None for findings shown only with --verbose (passed, suppressed)."""
    grade = finding.grade()
    if grade.counts:  # shown without --verbose; the others (passed, suppressed) only with it
        return WORDS[grade].text
    if finding.rule == caller_pair.ID and not grade.failed:  # declared by the user: always worth a line
        return WORDS[Grade.NOTE].text if grade is Grade.PASSED else WORDS[grade].text
    return None


def _quiet_level(finding: Finding) -> str:
    word = WORDS[finding.grade()].text
    return f"{word} ({finding.suppression.justification})" if finding.suppression is not None else word


def render(report: Report, verbose: bool = False) -> str:
    lines: list[str] = []
    for finding in by_importance(report.findings):
        level = level_of(finding)
        if level is None and verbose:
            level = _quiet_level(finding)
        if level is not None:
            lines += render_finding(finding, level)
    lines += [f"note: {visible(note)}" for note in report.notes]
    lines.append(report.summary())
    return "\n".join(lines) + "\n"
