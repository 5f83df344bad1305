"""JUnit XML: a testsuite per phase, a testcase per check (passed ones too).

classname is `<namespace>.<Kind>` so reporters group by namespace; a failure's
message is the one-line cause and its body the evidence and the fix. `file` and
`line` point at the manifest when the object came from one.
"""

from __future__ import annotations

from junit_xml import TestCase, TestSuite, to_xml_report_string

from gate.findings import Finding, Outcome, Severity
from gate.report.base import Report

PHASE_ORDER = ("lint", "rollouts", "endpoints", "connectivity")


def _case(finding: Finding, strict: bool) -> TestCase:
    namespace = finding.subject.namespace or "cluster"
    location = finding.locations[0] if finding.locations else None
    case = TestCase(
        name=finding.title,
        classname=f"{namespace}.{finding.subject.kind}",
        elapsed_sec=round(finding.seconds, 3),
        file=location.file if location else None,
        line=location.line if location else None,
        stdout=finding.message if finding.outcome is Outcome.PASSED else None,
    )
    body = "\n".join([*finding.evidence, *(f"fix: {line}" for line in finding.fix)]) or None
    if finding.outcome is Outcome.FAILED and (finding.severity is Severity.ERROR or strict):
        case.add_failure_info(message=finding.message, output=body, failure_type=finding.rule)
    elif finding.outcome is Outcome.FAILED:  # a warning that does not fail the run
        case.stdout = f"warning: {finding.message}" + (f"\n{body}" if body else "")
    elif finding.outcome is Outcome.NOT_CHECKABLE:
        case.add_skipped_info(message=finding.message, output=body)
    return case


def render(report: Report) -> str:
    phases = sorted({f.phase for f in report.findings}, key=lambda p: PHASE_ORDER.index(p)
                    if p in PHASE_ORDER else len(PHASE_ORDER))
    suites = [TestSuite(f"deploy-gate {report.command} {phase}",
                        [_case(f, report.strict) for f in report.findings if f.phase == phase])
              for phase in phases]
    if not suites:
        suites = [TestSuite(f"deploy-gate {report.command}", [])]
    return to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
