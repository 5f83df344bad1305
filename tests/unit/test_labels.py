"""Label selector semantics (apimachinery LabelSelectorAsSelector)."""

from __future__ import annotations

import pytest

from gate.labels import Requirement, Selector, describe_gap

LABELS = {"app": "inference-api", "tier": "backend", "version": "2"}


@pytest.mark.parametrize(("selector", "expected"), [
    ({}, True),
    ({"matchLabels": {"app": "inference-api"}}, True),
    ({"matchLabels": {"app": "inference-api", "tier": "frontend"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend", "db"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["backend"]}]}, False),
    ({"matchExpressions": [{"key": "missing", "operator": "NotIn", "values": ["x"]}]}, True),
    ({"matchExpressions": [{"key": "version", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "version", "operator": "DoesNotExist"}]}, False),
    ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, True),
    ({"matchLabels": {"app": "inference-api"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, False),
])
def test_label_selector(selector: dict, expected: bool) -> None:
    assert Selector.from_label_selector(selector).matches(LABELS) is expected


def test_empty_selector_matches_everything_and_says_so() -> None:
    selector = Selector.from_label_selector({})
    assert selector.is_empty and selector.matches({}) and str(selector) == "<all>"


def test_map_selector_values_are_compared_as_strings() -> None:
    assert Selector.from_map({"version": 2}).matches({"version": "2"})


def test_unmet_lists_only_failing_requirements() -> None:
    selector = Selector.from_map({"app": "inference-api", "tier": "backend"})
    assert [str(r) for r in selector.unmet({"app": "inference-api"})] == ["tier=backend"]


@pytest.mark.parametrize(("requirement", "labels", "words"), [
    (Requirement("tier", "In", ("backend",)), {}, "lack tier=backend"),
    (Requirement("tier", "In", ("backend",)), {"tier": "web"}, "have tier=web instead of tier=backend"),
    (Requirement("tier", "Exists"), {}, "lack label tier"),
    (Requirement("canary", "DoesNotExist"), {"canary": "yes"}, "have label canary=yes, which the selector excludes"),
])
def test_describe_gap(requirement: Requirement, labels: dict, words: str) -> None:
    assert describe_gap(requirement, labels) == words
