"""How every format names a Grade: the one table the reporters read, so they map and never decide.

A finding's grade is computed once (Finding.grade, --strict included); each reporter looks its words up
here. A new Grade without a row fails tests/unit/test_outcome_model.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.findings import Grade


@dataclass(frozen=True)
class Words:
    count: str  # Report.count()'s key, JSON's `counts`
    tally: str  # the summary line's word after the number
    text: str  # the text line's level, and the label of a JUnit <skipped> message
    json: str  # JSON's `outcome` (a warning or note is `failed`; its `severity` says which)
    junit: str  # the testcase's child element: failure | skipped | system-out
    junit_type: str | None  # its `type`; None: the rule's id
    # SARIF's level; None: a suppressed failure's is its severity's (its `suppressions` say it does not count),
    # and a check that passed or could not be made is no SARIF result (JSON and JUnit carry it)
    sarif: str | None
    annotation: str | None  # the GitHub workflow command; None: no annotation
    summary: str  # the GitHub step summary's result cell
    console: str  # verify's summary table's RESULT
    metric: str  # the `outcome` label of deploy_gate_check_outcome
    # GitLab Code Quality's severity (info < minor < major < critical < blocker); None: no issue in that report
    # (a suppressed failure does not count, and a check that passed or could not be made is no code violation)
    codequality: str | None


WORDS: dict[Grade, Words] = {
    Grade.ERROR: Words(count="errors", tally="error(s)", text="error", json="failed", junit="failure",
                       junit_type=None, sarif="error", annotation="error", summary="❌ failed", console="FAILED",
                       metric="failed", codequality="critical"),
    Grade.WARNING: Words(count="warnings", tally="warning(s)", text="warning", json="failed", junit="skipped",
                         junit_type="warning", sarif="warning", annotation="warning", summary="⚠️ warning",
                         console="FAILED", metric="warning", codequality="minor"),
    Grade.NOTE: Words(count="notes", tally="note(s)", text="note", json="failed", junit="skipped", junit_type="note",
                      sarif="note", annotation="notice", summary="📝 note", console="FAILED", metric="note",
                      codequality="info"),
    Grade.SUPPRESSED: Words(count="suppressed", tally="suppressed", text="suppressed", json="suppressed",
                            junit="skipped", junit_type="suppressed", sarif=None, annotation=None,
                            summary="🔕 suppressed", console="suppressed", metric="suppressed", codequality=None),
    Grade.PASSED: Words(count="passed", tally="passed", text="ok", json="passed", junit="system-out", junit_type=None,
                        sarif=None, annotation=None, summary="✅ passed", console="passed", metric="passed",
                        codequality=None),
    Grade.NOT_CHECKABLE: Words(count="not_checkable", tally="not checkable", text="not checkable",
                               json="not-checkable", junit="skipped", junit_type="not-checkable", sarif=None,
                               annotation=None, summary="⏭️ not checkable", console="skipped",
                               metric="not-checkable", codequality=None),
}
