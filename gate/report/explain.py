"""`deploy-gate explain`'s verdict as a report: one check, and its own text and JSON with every backend's why."""

from __future__ import annotations

from gate.escape import visible
from gate.findings import Finding, Outcome, Phase
from gate.objects import ObjectRef
from gate.pairs import PairVerdict, ResolvedPair, pair_fixes
from gate.report import json_report
from gate.report.base import Report
from gate.rules import caller_pair

OWN_FORMATS = ("text", "json")  # the others render explain's one check as they render any report's


def explanation_findings(resolved: ResolvedPair, verdict: PairVerdict) -> tuple[Finding, ...]:
    """One check, as verify reports a declared pair: passed when the caller connects, failed otherwise."""
    name = f"{resolved.caller.name} -> {resolved.pair.target}"
    return (Finding(Phase.CONNECTIVITY, caller_pair.ID, ObjectRef("Pair", resolved.namespace, name), name,
                    Outcome.PASSED if verdict.connects else Outcome.FAILED, f"{name}: {verdict.message}",
                    evidence=verdict.evidence, fix=verdict.fix, locations=verdict.locations),)


def render_explanation(resolved: ResolvedPair, verdict: PairVerdict, output: str, report: Report) -> str:
    """explain's own text, and in JSON its verdict's fields after the common ones: every backend's explanation."""
    caller, target = resolved.caller.name, resolved.pair.target
    allowed = bool(verdict.connects)
    if output == "json":
        return json_report.render(report, **{
            "allowed": allowed,
            "message": verdict.message,
            "caller": {"name": caller, "namespace": resolved.namespace, "labels": resolved.caller.labels},
            "target": str(target),
            "assumption": resolved.assumption,
            "no_endpoints": resolved.no_backends,
            "backends": [{"workload": b.pod.name, "port": b.port, "protocol": b.protocol,
                          "allowed": v.allowed, "summary": v.summary(), "explanation": v.explanation(),
                          "fixes": list(pair_fixes(b, v)), "note": b.note} for b, v in verdict.verdicts],
        })
    word = {True: "ALLOW", False: "DENY"}.get(verdict.connects, "NOT JUDGED")
    lines = [f"{word}  {caller} ({resolved.namespace}) -> {target}: {verdict.message}"]
    lines += [f"    {line}" for line in verdict.evidence]
    lines += [f"    fix: {fix}" for fix in verdict.fix]
    return "\n".join(visible(line) for line in lines) + "\n"
