"""GitHub Actions: workflow-command annotations, a step summary in Markdown, and inert data in every line.

At most 10 annotations, errors first: GitHub shows only the first few of each
kind on a run, so the most important ones must come first.

The runner reads workflow commands from stdout and stderr alike (actions/runner
ScriptHandler: both streams go through the ActionCommandManager). A line is a
command when, after leading whitespace, it starts with `::`, or when it holds
`##[` anywhere (the legacy form, still parsed). Label values, names and file
names come from manifests someone else wrote, so every line deploy-gate prints
there goes through `neutralise`, in the syntax of its medium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gate.escape import visible
from gate.findings import Finding, by_importance
from gate.location import Location
from gate.report.base import Report
from gate.report.words import WORDS

MAX_ANNOTATIONS = 10
_LEGACY = "##["
_COMMAND_LINE = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


@dataclass(frozen=True)
class Inert:
    """How a medium writes `##[` and the `:` that opens a line, so the text reads the same once parsed; each
    output format carries one (gate.report.FORMATS). `colon` None: the medium never opens a line with `:`."""

    legacy: str
    colon: str | None


TEXT_INERT = Inert("##\\[", "\\:")


def neutralise(text: str, inert: Inert = TEXT_INERT) -> str:
    """text with no line the runner would take for a workflow command, in the syntax of its medium."""
    text = text.replace(_LEGACY, inert.legacy)
    colon = inert.colon
    return _COMMAND_LINE.sub(lambda match: match.group(1) + colon, text) if colon else text


def _escape_data(text: str) -> str:
    """The runner's unescaping rules for a command's data (ActionCommand._escapeDataMappings)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """…and for a property value, which also must not hold `:` or `,` (ActionCommand._escapePropertyMappings)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(report: Report) -> list[str]:
    """`::error`/`::warning` commands; input-derived text is shown with its control characters escaped."""
    if report.error is not None:  # at the input's file:line when the error knows it
        location = (report.error_location,) if report.error_location else ()
        return [_command("error", f"deploy-gate {report.command}: {report.error_kind}", location,
                         visible(report.error))]
    lines: list[str] = []
    for finding in _annotated(report)[:MAX_ANNOTATIONS]:
        command = WORDS[finding.grade(report.strict)].annotation
        assert command is not None  # --strict only makes a warning an error
        body = "\n".join(visible(line) for line in [finding.message, *(f"fix: {line}" for line in finding.fix)])
        lines.append(_annotation(command, finding, finding.locations[:1], "", body))
        # The second place a finding names (the template a selector misses, the policy that denies) gets a
        # notice, so the diff view shows both ends of the problem.
        if len(finding.locations) > 1 and finding.locations[1] != finding.locations[0]:
            lines.append(_annotation("notice", finding, finding.locations[1:2], " (related)",
                                     visible(finding.message)))
    return lines[:MAX_ANNOTATIONS]


def _annotated(report: Report) -> list[Finding]:
    """The findings a workflow command is about (the failures that count), errors first."""
    return [f for f in by_importance(report.findings) if f.grade().counts]


def _annotation(command: str, finding: Finding, locations: tuple[Location, ...], suffix: str, body: str) -> str:
    return _command(command, f"deploy-gate {finding.rule}: {finding.title}{suffix}", locations, body)


def _command(command: str, title: str, locations: tuple[Location, ...], body: str) -> str:
    properties = [f"title={_escape_property(visible(title))}"]
    if locations:
        properties = [f"file={_escape_property(visible(locations[0].file))}", f"line={locations[0].line}",
                      *properties]
    return f"::{command} {','.join(properties)}::{_escape_data(body)}"


# Inline Markdown that input could open: emphasis, code, links and images (`[`), cells, strikethrough, headings.
_MARKDOWN_SPECIAL = set("\\`*_[]|~#")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: str) -> str:
    """Input-derived text as inline Markdown that renders as the same characters: no heading, link, tag or cell."""
    return "".join(_HTML.get(char) or (f"\\{char}" if char in _MARKDOWN_SPECIAL else char)
                   for char in visible(text))


def code_block(lines: list[str]) -> list[str]:
    """A fenced block no line inside can close: the fence is longer than any backtick run in it (CommonMark)."""
    shown = [visible(line) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *shown, fence]


def _row(finding: Finding) -> str:
    status = WORDS[finding.grade()].summary
    where = markdown_text(str(finding.locations[0])) if finding.locations else ""
    return (f"| {status} | {finding.phase} | {markdown_text(finding.title)} | {markdown_text(finding.message)} "
            f"| {where} |")


def summary_markdown(report: Report) -> str:
    verdict = {"success": "✅ passed", "failure": "❌ failed", "error": "⚠️ could not finish"}[report.result]
    lines = [f"## deploy-gate {report.command}: {verdict}", "", markdown_text(report.summary()), ""]
    for finding in _annotated(report):
        lines += [f"### {markdown_text(finding.title)}", "", markdown_text(finding.message), ""]
        lines += [f"- {markdown_text(line)}" for line in finding.evidence]
        if finding.fix:
            lines += ["", "**Fix:**", "", *code_block(list(finding.fix))]
        lines.append("")
    if report.findings:
        lines += ["| result | phase | check | detail | where |", "|---|---|---|---|---|"]
        lines += [_row(f) for f in report.findings]
    return "\n".join(lines) + "\n"
