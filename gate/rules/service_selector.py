"""Lint rule `service-selector`: a Service whose selector matches no pod template.

Fails: `chekout` is one typo from the pod template's `app: checkout`.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      selector:
        matchLabels: {app: checkout}
      template:
        metadata:
          labels: {app: checkout}
        spec:
          containers:
            - name: app
              image: registry.example/checkout:1.4
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: checkout, namespace: shop}
    spec:
      selector: {app: chekout}
      ports: [{port: 80, targetPort: http}]

Passes: the selector matches the template's labels.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: checkout, namespace: shop}
    spec:
      selector:
        matchLabels: {app: checkout}
      template:
        metadata:
          labels: {app: checkout}
        spec:
          containers:
            - name: app
              image: registry.example/checkout:1.4
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: checkout, namespace: shop}
    spec:
      selector: {app: checkout}
      ports: [{port: 80, targetPort: http}]
"""

from __future__ import annotations

from gate.config import GateConfig
from gate.endpoints import (
    closest_gap,
    template_candidates,
)
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.labels import format_labels
from gate.location import known
from gate.rules.base import CatalogRule, finding, listed, selecting_services

ID = "service-selector"
SEVERITY = Severity.ERROR
SUMMARY = (
    "A Service's selector must match the pod template labels of the workload that backs it; otherwise the "
    "Service gets no endpoints."
)
FIX = (
    "Add the labels the selector asks for to the pod template of every workload it serves (the result gives the "
    "kubectl patch and the manifest lines), or correct the selector."
)
HELP = (
    "a Service's selector matches no pod template in the set, and a workload was evidently meant for it. The "
    "evidence threshold: the workload has the Service's name; or every unmet label is one typo from its labels, a"
    ' value (`paymentservce` for `paymentservice`) or a key (`ap:` for `app:`, `nme:` for `name:`, with the value'
    ' agreeing): "did you mean"; or one label is missing while an app label (`app`, `app.kubernetes.io/name`, …) '
    'matches. Sharing only a `part-of` label, or versions differing by a number (`api-v1`/`api-v2`), is no '
    'evidence: not checkable. The candidate meeting most of the selector wins. Every workload the corrected '
    'selector selects was evidently served too (v1, v2 and v3, stable and canary behind one Service): the fix '
    'keeps them all. It adds the missing labels to each of their templates (one `kubectl patch` per workload, '
    'joined by `&&`) when every template takes them safely: no controller-set label, no label the template has '
    'with another value, no key one typo from one it has (the Service holds the typo: relabelling would copy it '
    "into the pods and roll them out), and each template still matching its own workload's selector; otherwise it"
    " corrects the Service's selector (one patch that selects them all). The error sits at the selector, the "
    "templates' labels are further places, and the fix is a `kubectl patch` plus the YAML lines"
)


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """Every Service selector matches a pod template in the set; else the evident workloads' gap.

    An error needs certainty: workloads the selector was evidently meant for (see `closest_gap`), and
    no custom resource in the namespace that might create the pods instead, unless a template in the
    set is a near miss (a typo'd key or value): that is stronger evidence than a possible operator.
    """
    findings = []
    for service, ref, selector in selecting_services(inventory):
        title = f"{ref.name} selects pods"
        selector_at = inventory.location(service, "spec", "selector")
        at = known(selector_at)
        matched = inventory.selected(selector, ref.namespace)
        if matched:
            names = ", ".join(str(inventory.ref(w)) for w in matched)
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                     f"{ref} selects {selector}: {names}", locations=at))
            continue
        assert ref.namespace is not None
        candidates = template_candidates(
            ((w, inventory.template_labels_location(w)) for w in inventory.workloads(ref.namespace)), ref.namespace)
        gap = closest_gap(ref, selector, candidates, selector_at)
        sources = inventory.pod_sources(ref.namespace, selector)
        if sources and not (gap and gap.typo):
            near = f"; closest template: {gap.pods_gap}" if gap else ""
            findings.append(finding(
                RULE, ref, title, Outcome.NOT_CHECKABLE,
                f"{ref} selects {selector}; no pod template in the set matches, but pods may come from "
                f"{listed(sources)}{near}", locations=at))
            continue
        if gap is None:
            findings.append(finding(
                RULE, ref, title, Outcome.NOT_CHECKABLE,
                f"{ref} selects {selector}; no workload in the set was evidently meant for it "
                f"(its pods are deployed from elsewhere?)", locations=at))
            continue
        evidence = [f"pod template labels ({format_labels(c.labels)}) at {c.labels_location}"
                    for c in gap.served if c.labels_location]
        evidence.append(f"why {gap.candidate.workload}: {gap.because}")
        if len(gap.served) > 1:
            others = gap.served[1:]
            it = "them" if len(others) > 1 else "it"
            evidence.append(f"why also {', '.join(str(c.workload) for c in others)}: "
                            f"{'they match' if len(others) > 1 else 'it matches'} {gap.corrected()}, the selector "
                            f"as corrected; the fix keeps {it} behind the Service")
        if sources:
            evidence.append(f"pods may also come from {listed(sources)}, but a template one typo away is the "
                            "stronger evidence")
        findings.append(finding(
            RULE, ref, title, Outcome.FAILED,
            gap.message + "; the Service will have no endpoints", evidence=tuple(evidence), fix=tuple(gap.fix()),
            locations=at + tuple(loc for c in gap.served for loc in known(c.labels_location))))
    return findings


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
