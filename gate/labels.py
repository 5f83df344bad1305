"""Label selectors: Service selectors (equality maps) and metav1.LabelSelector.

Semantics follow k8s.io/apimachinery/pkg/apis/meta/v1 LabelSelectorAsSelector:
an empty LabelSelector matches everything; requirements are ANDed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gate.objects import Object


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist

    def __str__(self) -> str:
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        return f"{self.key} {self.operator.lower()} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; no requirements matches every label set."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def from_map(cls, match_labels: dict[str, Any] | None) -> Selector:
        """A Service selector or matchLabels: key=value for each entry."""
        return cls(tuple(Requirement(str(k), "In", (str(v),)) for k, v in sorted((match_labels or {}).items())))

    @classmethod
    def from_label_selector(cls, selector: Object | None) -> Selector:
        """A metav1.LabelSelector (matchLabels + matchExpressions)."""
        selector = selector or {}
        requirements = list(cls.from_map(selector.get("matchLabels")).requirements)
        for expression in selector.get("matchExpressions") or []:
            values = tuple(str(v) for v in expression.get("values") or ())
            requirements.append(Requirement(str(expression.get("key")), str(expression.get("operator")), values))
        return cls(tuple(requirements))

    def matches(self, labels: dict[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def unmet(self, labels: dict[str, str]) -> list[Requirement]:
        return [requirement for requirement in self.requirements if not requirement.matches(labels)]

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements) if self.requirements else "<all>"


def describe_gap(requirement: Requirement, labels: dict[str, str]) -> str:
    """How labels fail one requirement, in the words an on-call engineer reads: 'lack tier=backend'."""
    if requirement.operator == "In":
        if requirement.key not in labels:
            return f"lack {requirement}"
        return f"have {requirement.key}={labels[requirement.key]} instead of {requirement}"
    if requirement.operator == "Exists":
        return f"lack label {requirement.key}"
    if requirement.operator == "DoesNotExist":
        return f"have label {requirement.key}={labels.get(requirement.key, '')}, which the selector excludes"
    return f"have {requirement.key}={labels.get(requirement.key, '')}, not matching {requirement}"


def format_labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"
