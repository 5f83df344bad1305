"""Property: no suggested fix takes a workload away from any Service.

Generated sets run several workloads per application (versions, canary and stable, shared labels) behind
Services whose selectors are then broken the ways people break them: a label none of the workloads
carries, a typo'd value, a typo'd key. For every error, its fix is applied alone to the set: each
Service then selects at least what it did before, the broken one at least what it was meant to select
(the workloads its unbroken selector matched). Applying every fix leaves no error at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gate.findings import Outcome
from tests.testing.patching import apply_fix
from tests.testing.real_world import deployment, errors, lint_set, rule, selected, service, statefulset

APPS = ("checkout", "payments", "inventory", "shipping")  # no two a typo apart
SHARED = ({}, {"part-of": "shop"}, {"team": "core"})
VARIANTS = (("version", "v1"), ("version", "v2"), ("version", "v3"), ("track", "stable"), ("track", "canary"))
ADDED_KEYS = ("tier", "component", "layer", "role")  # one per Service: two Services never ask one key otherwise


def typo(text: str, position: int, how: str) -> str:
    """One edit: drop or double the character at position."""
    position %= len(text)
    return text[:position] + text[position + 1:] if how == "drop" else text[:position + 1] + text[position:]


@st.composite
def broken_sets(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """Workloads and Services, some selectors broken; with what each Service was meant to select."""
    objects: list[dict[str, Any]] = []
    names_by_app: dict[str, list[str]] = {}
    for app in draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=3, unique=True)):
        shared = draw(st.sampled_from(SHARED))
        for key, value in draw(st.lists(st.sampled_from(VARIANTS), min_size=1, max_size=3, unique_by=lambda v: v)):
            name = f"{app}-{value}"
            labels = {"app": app, key: value, **shared}
            make = statefulset if draw(st.booleans()) and len(objects) % 3 == 2 else deployment
            objects.append(make(name, labels))
            names_by_app.setdefault(app, []).append(name)
    workloads = list(objects)
    intended: dict[str, set[str]] = {}
    for index in range(draw(st.integers(1, 4))):
        app = draw(st.sampled_from(sorted(names_by_app)))
        members = [w for w in workloads if w["spec"]["template"]["metadata"]["labels"]["app"] == app]
        pinned = draw(st.sampled_from(members))["spec"]["template"]["metadata"]["labels"]
        selector = {"app": app, **{k: v for k, v in pinned.items() if k != "app" and draw(st.booleans())}}
        name = draw(st.sampled_from([f"svc-{index}", *[w["metadata"]["name"] for w in members]]))
        assume(name not in intended)
        intended[name] = {w["metadata"]["name"] for w in members
                          if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())}
        broken = dict(selector)
        how = draw(st.sampled_from(["none", "added", "value", "key"]))
        key = draw(st.sampled_from(sorted(selector)))
        if how == "added":
            broken[ADDED_KEYS[index]] = draw(st.sampled_from(["backend", "api"]))
        elif how == "value" and key == "app":
            broken["app"] = typo(app, draw(st.integers(0, 20)), draw(st.sampled_from(["drop", "double"])))
        elif how == "key":
            written = typo(key, draw(st.integers(0, 20)), draw(st.sampled_from(["drop", "double"])))
            assume(written not in {k for w in workloads for k in w["spec"]["template"]["metadata"]["labels"]})
            broken[written] = broken.pop(key)
        objects.append(service(name, broken, "http"))
    return objects, intended


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=broken_sets())
def test_no_fix_takes_a_workload_from_any_service(tmp_path: Path,
                                                  generated: tuple[list[dict[str, Any]], dict[str, set[str]]]) -> None:
    objects, intended = generated
    findings = lint_set(tmp_path, objects)
    before = selected(objects)
    for service_finding in rule(findings, "service-selector"):
        name = service_finding.subject.name
        # A broken selector is never passed over: the set shows the workloads it was meant for.
        assert service_finding.outcome is not Outcome.NOT_CHECKABLE, service_finding.message
        if service_finding.outcome is Outcome.PASSED:
            assert before[name] >= intended[name]
    for finding in errors(findings):
        assert finding.rule == "service-selector", finding.message
        after = selected(apply_fix(objects, finding.fix[0]))
        for name, workloads in before.items():
            assert after[name] >= workloads, (finding.fix[0], name)
        fixed = finding.subject.name
        assert after[fixed] >= intended[fixed], (finding.message, finding.fix[0], after[fixed], intended[fixed])
    for finding in errors(findings):
        objects = apply_fix(objects, finding.fix[0])
    assert errors(lint_set(tmp_path, objects, "fixed.yaml")) == []
    now = selected(objects)
    assert all(now[name] >= workloads for name, workloads in intended.items())
