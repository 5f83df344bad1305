"""Lint rule `caller-pair`: declared caller pairs against the static NetworkPolicy verdict.

gate.yaml: both examples.

    pairs:
      - from: shop/deployment/web
        to: api:8080
        expect: allow

Fails: a default-deny ingress policy isolates the api pods and nothing admits web.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - {name: app, image: registry.example/web:4}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      selector:
        matchLabels: {app: api}
      template:
        metadata:
          labels: {app: api}
        spec:
          containers:
            - name: app
              image: registry.example/api:4
              ports: [{containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: shop}
    spec:
      selector: {app: api}
      ports: [{port: 8080}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: default-deny, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress]

Passes: a policy of the api pods admits web on 8080.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - {name: app, image: registry.example/web:4}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: shop}
    spec:
      selector:
        matchLabels: {app: api}
      template:
        metadata:
          labels: {app: api}
        spec:
          containers:
            - name: app
              image: registry.example/api:4
              ports: [{containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: shop}
    spec:
      selector: {app: api}
      ports: [{port: 8080}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: default-deny, namespace: shop}
    spec:
      podSelector: {}
      policyTypes: [Ingress]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: api-from-web, namespace: shop}
    spec:
      podSelector:
        matchLabels: {app: api}
      policyTypes: [Ingress]
      ingress:
        - from: [{podSelector: {matchLabels: {app: web}}}]
          ports: [{port: 8080}]
"""

from __future__ import annotations

from gate.config import GateConfig, Pair
from gate.errors import ConfigError
from gate.findings import Finding, Outcome, Phase, Severity
from gate.inventory import Inventory
from gate.netpol import DEFAULT_DNS, PodSide, dns_pods
from gate.objects import ObjectRef
from gate.pairs import NearMiss, PairVerdict, Unresolvable, judge, resolve
from gate.rules.base import CatalogRule, finding

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
    " to the pod's app label, one port, one peer. A caller isolated for egress must also reach the cluster DNS "
    "(UDP 53 to `k8s-app: kube-dns` in `kube-system`, `dns:` in gate.yaml): without it the Service's name does "
    "not resolve, the pair cannot connect, and the egress fix adds a rule for UDP and TCP 53 to the DNS pods. The"
    " Service is judged first: a Service without endpoints for the port connects nobody (\"cannot connect: "
    "service/x has no endpoints\", pointing at its selector; the Service's own check gives the fix); a selector "
    'evidently pointing at another application makes the pair "not judged", naming that cause instead of '
    "blaming a policy; an undeclared numeric `targetPort` still gets the verdict, with a note on the port (see "
    "`target-port`)"
)


def pair_finding(pair: Pair, inventory: Inventory, dns: PodSide | None = DEFAULT_DNS) -> Finding:
    """The static verdict of one declared pair against its expectation (gate.pairs.judge, as explain and verify
    give it)."""
    subject = ObjectRef("Pair", None, pair.name)
    locations = (pair.location,)
    try:
        resolved = resolve(pair, inventory)
    except NearMiss as why:  # a typo in gate.yaml, not an object that may live in the cluster
        raise ConfigError.at(pair.location, f"{pair.name}: {why}") from why
    except Unresolvable as why:
        return finding(RULE, subject, pair.name, Outcome.NOT_CHECKABLE, f"{pair.name}: {why}", locations=locations)
    return verdict_finding(Phase.LINT, pair, judge(resolved, inventory, dns=dns))


def verdict_finding(phase: Phase, pair: Pair, verdict: PairVerdict, seconds: float = 0.0,
                    namespace: str | None = None) -> Finding:
    """The finding of a pair's static verdict: the same message and outcome in lint and verify."""
    return Finding(phase, ID, ObjectRef("Pair", namespace, pair.name), pair.name, verdict.outcome,
                   f"{pair.name}: {verdict.message}", verdict.severity, verdict.evidence, verdict.fix,
                   (pair.location, *verdict.locations), seconds)


def check(inventory: Inventory, config: GateConfig) -> list[Finding]:
    """One finding per pair declared in gate.yaml."""
    dns = dns_pods(config.dns.namespace, config.dns.labels)
    return [pair_finding(pair, inventory, dns) for pair in config.pairs]


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
