"""Prometheus gauges of a verify run, for a node-exporter textfile collector or a Pushgateway.

A scheduled verify has no pipeline to fail: these gauges are how an alert learns
of it. Every run writes the run's own gauges, so a run without a verdict (exit 2,
3, 130) is told apart from a failing one by `deploy_gate_judged 0`; the per-check
gauges are there only when the run judged. The registry is our own, never
prometheus_client's global one: it would add the process's own metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from gate.findings import Finding, Grade
from gate.report.base import Report, unicode_text
from gate.report.words import WORDS

LABELS = ("check", "object", "namespace")
# Worst first: a check reported twice for one object (the same labels) shows its worst outcome.
WORST_FIRST = (Grade.ERROR, Grade.WARNING, Grade.NOTE, Grade.SUPPRESSED, Grade.NOT_CHECKABLE, Grade.PASSED)


def check_labels(finding: Finding) -> tuple[str, ...]:
    """check (the phase), object (`service/web`; a pair by its name) and namespace ("" when cluster-scoped)."""
    subject = finding.subject
    name = subject.name if subject.kind == "Pair" else str(subject)
    # The exposition format escapes `\\`, `"` and newline; a lone surrogate, not UTF-8, is escaped here.
    return tuple(unicode_text(value) for value in (finding.phase, name, subject.namespace or ""))


def registry(report: Report, finished: float) -> CollectorRegistry:
    """The gauges of one run; `finished` is the run's end (Unix seconds), the caller's clock, not ours."""
    metrics = CollectorRegistry(auto_describe=False)
    # A warning, a note or a suppressed failure is a failed check that does not fail the run: each its own
    # outcome, so an alert can leave it out.
    worst: dict[tuple[str, ...], Grade] = {}
    for finding in report.findings:
        key = check_labels(finding)
        worst[key] = min(worst.get(key, Grade.PASSED), finding.grade(), key=WORST_FIRST.index)
    passed = Gauge("deploy_gate_check_passed", "1 the check passed, 0 it failed (a warning too); a check that "
                   "could not be made has no sample here", LABELS, registry=metrics)
    outcomes = Gauge("deploy_gate_check_outcome", "1 for the check's outcome: failed, warning, not-checkable "
                     "or passed", (*LABELS, "outcome"), registry=metrics)
    for key, grade in worst.items():
        if grade is not Grade.NOT_CHECKABLE:
            passed.labels(*key).set(grade is Grade.PASSED)
        outcomes.labels(*key, WORDS[grade].metric).set(1)
    for name, documentation, value in (
        ("deploy_gate_last_run_timestamp_seconds", "When the run ended, in Unix seconds", finished),
        ("deploy_gate_run_duration_seconds", "How long the run took", report.seconds),
        ("deploy_gate_exit_code", "0 passed, 1 a check failed, 2 usage, 3 could not verify, 130 interrupted",
         report.exit_code),
        ("deploy_gate_judged", "1 the run reached a verdict (exit 0 or 1), 0 it could not judge",
         report.error is None),
    ):
        Gauge(name, documentation, registry=metrics).set(value)
    return metrics
