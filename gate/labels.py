"""Label selectors: Service selectors (equality maps) and metav1.LabelSelector.

Semantics follow k8s.io/apimachinery/pkg/apis/meta/v1 LabelSelectorAsSelector:
an empty LabelSelector matches everything; requirements are ANDed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gate.kinds import ControllerLabel
from gate.objects import Object, controller_labels, template_labels
from gate.schema import LABEL_VALUE, Invalid, LabelKey

# Labels that name an application, best first: a match on one of them is evidence that a
# workload was meant to back a Service, and the peer a NetworkPolicy fix should admit.
IDENTITY_LABELS = ("app.kubernetes.io/name", "app", "k8s-app", "app.kubernetes.io/instance", "name")


@dataclass(frozen=True)
class PodLabels:
    """The labels pods will carry: their own (or their template's), plus those their controller adds.

    `added` are known by key only (a hash) or by pattern (a StatefulSet pod is `<name>-<ordinal>`);
    live pods carry every label already and have none.
    """

    labels: dict[str, str]
    added: tuple[ControllerLabel, ...] = ()
    owner_name: str = ""

    @classmethod
    def of_template(cls, workload: Object) -> PodLabels:
        name = (workload.get("metadata") or {}).get("name", "")
        return cls(template_labels(workload), controller_labels(workload), str(name))

    def added_label(self, key: str) -> ControllerLabel | None:
        return next((label for label in self.added if label.key == key), None) if key not in self.labels else None


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

    def may_match(self, pods: PodLabels) -> bool:
        """Whether the pods can satisfy the requirement, counting the labels their controller adds."""
        added = pods.added_label(self.key)
        if added is None:
            return self.matches(pods.labels)
        if self.operator == "In":
            return any(added.may_be(value, pods.owner_name) for value in self.values)
        return self.operator != "DoesNotExist"  # Exists, or NotIn (the value is not known in advance)

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

    def may_match(self, pods: PodLabels) -> bool:
        return all(requirement.may_match(pods) for requirement in self.requirements)

    def unmet_by(self, pods: PodLabels) -> list[Requirement]:
        return [requirement for requirement in self.requirements if not requirement.may_match(pods)]

    def as_map(self) -> dict[str, str] | None:
        """key: value for a selector of single-value equalities only (a Service's kind), else None."""
        if any(r.operator != "In" or len(r.values) != 1 for r in self.requirements):
            return None
        return {r.key: r.values[0] for r in self.requirements}

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


def near_miss(written: str, meant: str) -> bool:
    """A likely typo: two values at most two edits apart that differ in more than a version number.

    `paymentservce`/`paymentservice` are a near miss; `v1`/`v2` and `api-v1`/`api-v2` are
    different versions on purpose (canaries), and short values are too short to judge.
    """
    if written == meant or min(len(written), len(meant)) < 4:
        return False
    if "".join(c for c in written if not c.isdigit()) == "".join(c for c in meant if not c.isdigit()):
        return False
    return _edits(written, meant) <= 2


def near_key(written: str, meant: str) -> bool:
    """A likely typo of a label key: one edit apart (two for keys of 8 characters or more), not a version.

    `ap`/`app` and `nme`/`name` are typos; keys are short and few, so the bar is higher than for
    values, and a caller asks for the value under the key to agree as well (see `near_label`).
    """
    if written == meant or len(meant) < 3:
        return False
    if "".join(c for c in written if not c.isdigit()) == "".join(c for c in meant if not c.isdigit()):
        return False
    return _edits(written, meant) <= (1 if min(len(written), len(meant)) < 8 else 2)


def near_label(requirement: Requirement, labels: dict[str, str]) -> tuple[str, str] | None:
    """The label (key, value) a requirement evidently meant, one typo away from it; else None.

    A value typo keeps the key (`app=paymentservce` for `app=paymentservice`); a key typo keeps the
    value, or nearly (`ap=api` for `app=api`). Only a single-value equality can be a typo.
    """
    if requirement.operator != "In" or len(requirement.values) != 1:
        return None
    [written] = requirement.values
    if requirement.key in labels:
        value = labels[requirement.key]
        return (requirement.key, value) if near_miss(written, value) else None
    for key, value in labels.items():
        if near_key(requirement.key, key) and (value == written or near_miss(written, value)):
            return key, value
    return None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (label values are at most 63 characters)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def format_labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def valid_label(key: str, value: str) -> bool:
    """The API server would accept this label (k8s.io/apimachinery validation: qualified name, label value).

    A fix proposes labels it read from manifests; one the API server rejects is no fix, and a
    value such as `x'; touch f` is not printed inside a command at all.
    """
    try:  # the schema's own checks, as a manifest's labels are validated
        LabelKey().check(key, (), _no_text)
        LABEL_VALUE.check(value, (), _no_text)
    except Invalid:
        return False
    return True


def _no_text(_: object) -> None:
    return None


def no_command_for(labels: dict[str, str]) -> str | None:
    """Why a fix gives no command, when a label it would write is one the API server rejects; else None.

    Such a value (a space, a quote, `$(...)`) can only be a mistake where it is written: a
    command carrying it would fail at best, so none is printed.
    """
    invalid = [f"{key}={value}" for key, value in labels.items() if not valid_label(key, value)]
    return f"correct {', '.join(invalid)} where it is written: the API server rejects it as a label, " \
        "so no command is given" if invalid else None
