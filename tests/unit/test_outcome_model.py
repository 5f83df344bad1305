"""One outcome model: Finding.grade decides (--strict included), reporters only look words up in WORDS.

Table-driven: every outcome x severity x suppression x --strict gives one grade, and every reporter's
word for a finding is the word WORDS gives that grade. A new Grade without words fails here.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import fields
from pathlib import Path

import pytest

from gate.errors import EXIT_FAILED, EXIT_OK
from gate.findings import Finding, Grade, Location, Outcome, Phase, Severity, Suppression, by_importance, exit_code
from gate.objects import ObjectRef
from gate.report import github, metrics, render
from gate.report.base import Report
from gate.report.console import summary_table
from gate.report.words import WORDS

SUPPRESSION = Suppression("external", "accepted in gate.yaml")

# outcome, severity, suppressed -> grade without --strict, grade with it
GRADES = [
    (Outcome.FAILED, Severity.ERROR, False, Grade.ERROR, Grade.ERROR),
    (Outcome.FAILED, Severity.WARNING, False, Grade.WARNING, Grade.ERROR),
    (Outcome.FAILED, Severity.NOTE, False, Grade.NOTE, Grade.NOTE),
    (Outcome.FAILED, Severity.ERROR, True, Grade.SUPPRESSED, Grade.SUPPRESSED),
    (Outcome.FAILED, Severity.WARNING, True, Grade.SUPPRESSED, Grade.SUPPRESSED),
    (Outcome.FAILED, Severity.NOTE, True, Grade.SUPPRESSED, Grade.SUPPRESSED),
    *((Outcome.PASSED, severity, False, Grade.PASSED, Grade.PASSED) for severity in Severity),
    *((Outcome.NOT_CHECKABLE, severity, False, Grade.NOT_CHECKABLE, Grade.NOT_CHECKABLE) for severity in Severity),
]


def finding(outcome: Outcome, severity: Severity, suppressed: bool, name: str = "web") -> Finding:
    return Finding(Phase.LINT, "service-selector", ObjectRef("Service", "shop", name), f"{name} selects pods",
                   outcome, f"{name}: the cause", severity, locations=(Location("/repo/svc.yaml", 3),),
                   suppression=SUPPRESSION if suppressed else None)


@pytest.mark.parametrize(("outcome", "severity", "suppressed", "plain", "strict"), GRADES)
def test_strict_is_decided_once_by_grade(outcome: Outcome, severity: Severity, suppressed: bool, plain: Grade,
                                         strict: Grade) -> None:
    """--strict makes a warning an error and nothing else; the exit code follows the grade alone."""
    checked = finding(outcome, severity, suppressed)
    assert (checked.grade(), checked.grade(strict=True)) == (plain, strict)
    for strictness, grade in ((False, plain), (True, strict)):
        assert checked.fails(strictness) is (grade is Grade.ERROR)
        assert exit_code([checked], strictness) == (EXIT_FAILED if grade is Grade.ERROR else EXIT_OK)


def _report(checked: Finding, strict: bool) -> Report:
    return Report("lint", (checked,), exit_code([checked], strict), 1.0, strict)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("outcome", "severity", "suppressed", "plain", "escalated"), GRADES)
def test_every_reporter_says_its_grade_in_the_words_of_the_table(outcome: Outcome, severity: Severity,
                                                                 suppressed: bool, plain: Grade, escalated: Grade,
                                                                 strict: bool) -> None:
    checked = finding(outcome, severity, suppressed)
    report = _report(checked, strict)
    grade = escalated if strict else plain  # the grade --strict makes: exit code, JUnit, SARIF level, annotation
    words, counted = WORDS[grade], WORDS[plain]  # counts, JSON, text and the tables do not escalate

    document = json.loads(render(report, "json"))
    assert document["findings"][0]["outcome"] == counted.json
    assert document["counts"][counted.count] == 1 and sum(document["counts"].values()) == 1
    assert f"1 {counted.tally}" in report.summary()

    text = render(report, "text", verbose=True).splitlines()[0]
    assert text.startswith(f"/repo/svc.yaml:3:1: {counted.text}"), text

    case = ET.fromstring(render(report, "junit")).find("./testsuite/testcase")
    assert case is not None
    [child] = list(case)
    assert child.tag == words.junit
    if words.junit != "system-out":
        assert child.get("type") == (words.junit_type or checked.rule)

    results = json.loads(render(report, "sarif", root=Path("/repo")))["runs"][0]["results"]
    assert [r["level"] for r in results] == ([words.sarif or severity.value] if plain.failed else [])

    commands = github.annotations(report)
    assert [line.split(" ")[0] for line in commands[:1]] == ([f"::{words.annotation}"] if words.annotation else [])
    assert f"| {counted.summary} |" in github.summary_markdown(report)
    assert summary_table(report).splitlines()[1].startswith(counted.console)
    assert f'outcome="{counted.metric}"' in _exposition(report)


def _exposition(report: Report) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry(report, 0.0)).decode()


def test_every_grade_has_every_word() -> None:
    """A new Grade must be named by every format before any reporter can render it."""
    assert set(WORDS) == set(Grade)
    optional = {"junit_type", "sarif", "annotation", "codequality"}  # None has a documented meaning for these
    for grade, words in WORDS.items():
        for field in fields(words):
            value = getattr(words, field.name)
            assert value or field.name in optional, (grade, field.name)
    assert set(metrics.WORST_FIRST) == set(Grade) and len(metrics.WORST_FIRST) == len(Grade)


def test_words_distinguish_what_a_reader_must_tell_apart() -> None:
    """Each count and each metric label names one grade; a failure that counts has an annotation, a level and a
    Code Quality severity (GitLab's), and nothing else is a Code Quality issue."""
    assert len({words.count for words in WORDS.values()}) == len(Grade)
    assert len({words.metric for words in WORDS.values()}) == len(Grade)
    counting = [grade for grade in Grade if grade.failed and grade is not Grade.SUPPRESSED]
    assert all(WORDS[grade].annotation and WORDS[grade].sarif for grade in counting)
    assert [grade for grade in Grade if WORDS[grade].codequality] == counting


def test_by_importance_follows_the_grade_order() -> None:
    found = [finding(outcome, severity, suppressed, f"s{i}")
             for i, (outcome, severity, suppressed, _, _) in enumerate(reversed(GRADES))]
    failures = [f.grade() for f in by_importance(found) if f.grade().failed]
    assert failures == sorted(failures, key=list(Grade).index)
    assert [f.grade().failed for f in by_importance(found)] == sorted((f.grade().failed for f in found), reverse=True)


def test_a_phase_given_as_its_word_is_the_phase() -> None:
    """Producers outside the core may still pass the word; the finding holds the Phase, JSON prints the word."""
    checked = Finding("rollouts", "rollout", ObjectRef("Deployment", "shop", "web"), "web rolled out",  # type: ignore[arg-type]
                      Outcome.PASSED, "ok")
    assert checked.phase is Phase.ROLLOUTS
    assert json.loads(render(_report(checked, False), "json"))["findings"][0]["phase"] == "rollouts"
    with pytest.raises(ValueError):
        Finding("rollout", "rollout", ObjectRef("Deployment", "shop", "web"), "web", Outcome.PASSED, "ok")  # type: ignore[arg-type]
