"""Lint rule `caller-pair`: declared caller pairs against the static NetworkPolicy verdict."""

from __future__ import annotations

from gate.config import GateConfig, Pair
from gate.errors import ConfigError
from gate.findings import Finding, Location, Outcome, Severity
from gate.inventory import Inventory
from gate.netpol import PolicyVerdict
from gate.objects import ObjectRef
from gate.pairs import NearMiss, Unresolvable, deciding, pair_fixes, resolve, static_verdicts
from gate.rules.base import LINT

ID = "caller-pair"
SEVERITY = Severity.ERROR
SUMMARY = "A caller pair declared in gate.yaml must be allowed, or denied, by NetworkPolicy as declared."
FIX = "Apply the smallest policy change the result gives, or correct the pair's expectation."
HELP = (
    "each declared pair in `gate.yaml` gets the static NetworkPolicy verdict; an `expect` that the policies "
    "contradict is an error located at the pair and at the deciding policy's rules, with the smallest fix: a "
    "peer in the most specific policy selecting the pod, on that one port (a rule of its own when the "
    "existing rule admits other ports too); never a change to a namespace-wide baseline (an empty "
    "`podSelector`, a deny-all): when only a baseline isolates the pod, the fix is a new NetworkPolicy scoped"
    " to the pod's app label, one port, one peer. The Service is judged first: a named `targetPort` no "
    'container defines, or a selector evidently pointing at another application, makes the pair "not judged", '
    "naming that cause instead of blaming a policy; an undeclared numeric `targetPort` still gets the verdict, "
    "with a note on the port (see `target-port`)"
)


def pair_finding(pair: Pair, inventory: Inventory) -> Finding:
    """The static verdict of one declared pair against its expectation."""
    subject = ObjectRef("Pair", None, pair.name)
    locations = Location.parse(pair.location)
    try:
        resolved = resolve(pair, inventory)
    except NearMiss as why:  # a typo in gate.yaml, not an object that may live in the cluster
        raise ConfigError(f"{pair.location}: {pair.name}: {why}") from why
    except Unresolvable as why:
        return Finding(LINT, ID, subject, pair.name, Outcome.NOT_CHECKABLE, f"{pair.name}: {why}",
                       locations=locations)
    if not resolved.backends:
        return Finding(LINT, ID, subject, pair.name, Outcome.NOT_CHECKABLE,
                       f"{pair.name}: not judged: {resolved.no_backends}", locations=locations)
    decided = deciding(static_verdicts(resolved, inventory), pair.expect_allow)
    assert decided is not None  # one verdict per backend, and there are backends
    backend, verdict = decided
    locations += _policy_locations(inventory, verdict, backend.pod.namespace, resolved.caller.namespace)
    to = f"{backend.pod.name} port {backend.port}/{backend.protocol}"
    evidence = tuple(verdict.explanation()) + ((resolved.assumption,) if resolved.assumption else ()) + \
        ((f"note: {backend.note}",) if backend.note else ())
    if verdict.allowed == pair.expect_allow:
        said = "allowed" if pair.expect_allow else "denied"
        return Finding(LINT, ID, subject, pair.name, Outcome.PASSED,
                       f"{pair.name}: {said} as expected ({verdict.summary()})",
                       evidence=evidence, locations=locations)
    if pair.expect_allow:
        message = f"{pair.caller} cannot reach {to}: {verdict.summary()}"
        fix = pair_fixes(backend, verdict)
    else:
        message = f"{pair.caller} must not reach {to}, but policies allow it: {verdict.summary()}"
        fix = (f"remove the peer admitting {pair.caller} from {verdict.ingress.admitted_by.split(' ')[0]}"
               if verdict.ingress.admitted_by else
               f"add a NetworkPolicy selecting {backend.pod.name} whose ingress rules do not admit "
               f"{pair.caller}",)
    return Finding(LINT, ID, subject, pair.name, Outcome.FAILED, message,
                   evidence=evidence, fix=fix, locations=locations)


def _policy_locations(inventory: Inventory, verdict: PolicyVerdict, target_namespace: str, caller_namespace: str
                      ) -> tuple[Location, ...]:
    """file:line of the rules of the policies that decided, after the pair's own line in gate.yaml."""
    found: list[Location] = []
    for direction, namespace, key in ((verdict.ingress, target_namespace, "ingress"),
                                      (verdict.egress, caller_namespace, "egress")):
        if direction.deciding_policy is None or (not verdict.allowed and direction.allowed):
            continue  # a denial is located at the policies that deny, not at those admitting the other side
        for policy in inventory.find("NetworkPolicy", direction.deciding_policy, namespace):
            found += Location.parse(inventory.location(policy, "spec", key))
    return tuple(found)


def check(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """One finding per pair declared in gate.yaml."""
    return [pair_finding(pair, inventory) for pair in config.pairs]
