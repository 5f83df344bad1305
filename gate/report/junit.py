"""JUnit XML, valid against Jenkins xunit's junit-10.xsd, the strictest schema CI servers share.

junit-10.xsd has no `file` or `line` on a testcase, so a location travels the
ways that validate and that the readers use: each testsuite holds one phase of
one manifest file and carries `file` (mikepenz/action-junit-report falls back
to the testsuite's file), and the body of a failure, error or skip ends with
`at FILE:LINE` (the same action takes the line from the body; GitLab and
Jenkins show the body as is). A run ended by an input error (`m.yaml:12: …`,
exit 2) is located the same way. GitLab's file column stays empty: it reads only
the testcase attribute the schema lacks.

A failure's body starts with its one-line cause, because GitLab shows the body,
not the message. A warning that does not fail the run is `<skipped type="warning">`,
so it is seen, not counted as passed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gate.escape import visible
from gate.findings import Finding, Grade, Phase
from gate.objects import ObjectRef
from gate.report.base import Report
from gate.report.words import WORDS


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"


def classname(subject: ObjectRef) -> str:
    """`<namespace>.<Kind>` (`cluster.<Kind>` for cluster-scoped objects); a pair is `Pair` in lint and verify."""
    if subject.kind == "Pair":
        return "Pair"
    return f"{subject.namespace or 'cluster'}.{subject.kind}"


def _body(finding: Finding) -> str:
    """One line per item: `visible` writes a newline, CR or a character XML cannot hold (NUL, ESC) as its escape."""
    lines = [finding.message, *finding.evidence, *(f"fix: {line}" for line in finding.fix)]
    lines += [f"at {location}" for location in finding.locations[:1]]
    return "\n".join(visible(line) for line in lines)


def _case(finding: Finding, strict: bool) -> ET.Element:
    case = ET.Element("testcase", classname=visible(classname(finding.subject)), name=visible(finding.title),
                      time=_seconds(finding.seconds))
    grade = finding.grade(strict)
    words = WORDS[grade]
    child = ET.SubElement(case, words.junit)
    child.text = _body(finding)
    if words.junit != "system-out":  # a failure's message is its cause; a skip's names why it was skipped
        why = finding.suppression.justification if finding.suppression is not None else finding.message
        child.set("message", visible(finding.message if grade is Grade.ERROR else f"{words.text}: {why}"))
        child.set("type", words.junit_type or finding.rule)
    return case


def _suite(name: str, cases: list[ET.Element], file: str | None) -> ET.Element:
    suite = ET.Element("testsuite", name=visible(name), tests=str(len(cases)),
                       failures=str(sum(case.find("failure") is not None for case in cases)),
                       errors=str(sum(case.find("error") is not None for case in cases)),
                       skipped=str(sum(case.find("skipped") is not None for case in cases)),
                       time=_seconds(sum(float(case.get("time", 0)) for case in cases)))
    if file:
        suite.set("file", visible(file))
    suite.extend(cases)
    return suite


def _suites(report: Report) -> list[ET.Element]:
    """One suite per phase and manifest file (findings without a file share their phase's suite)."""
    if report.error is not None:
        case = ET.Element("testcase", classname="deploy-gate", name=f"deploy-gate {report.command}",
                          time=_seconds(report.seconds))
        where = report.error_location
        ET.SubElement(case, "error", message=visible(report.error), type=report.error_kind).text = \
            f"{visible(report.error)}\nexit code {report.exit_code}: no check ran to a verdict" + \
            (f"\nat {visible(str(where))}" if where else "")
        return [_suite(f"deploy-gate {report.command}", [case], where.file if where else None)]
    groups: dict[tuple[int, str, str], list[ET.Element]] = {}
    for finding in report.findings:
        rank = list(Phase).index(finding.phase)
        file = finding.locations[0].file if finding.locations else ""
        groups.setdefault((rank, finding.phase, file), []).append(_case(finding, report.strict))
    return [_suite(f"deploy-gate {phase}" + (f" {file}" if file else ""), cases, file)
            for (_, phase, file), cases in sorted(groups.items(), key=lambda item: item[0][0])]


def render(report: Report) -> str:
    suites = _suites(report) or [_suite(f"deploy-gate {report.command}", [], None)]
    root = ET.Element("testsuites", name=f"deploy-gate {report.command}",
                      tests=str(sum(int(s.get("tests", 0)) for s in suites)),
                      failures=str(sum(int(s.get("failures", 0)) for s in suites)),
                      errors=str(sum(int(s.get("errors", 0)) for s in suites)),
                      time=_seconds(report.seconds))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
