"""The connectivity phase of `verify`: each declared pair, statically explained and live probed.

Reads the live objects the static evaluator needs (workloads, Services,
NetworkPolicies, namespace labels), probes every pair at once from the
caller's identity, and combines both into one finding per pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gate.cluster import Cluster
from gate.config import GateConfig, Pair
from gate.endpoints import ready_endpoints
from gate.errors import ClusterError, PermissionDenied
from gate.escape import shell_command
from gate.findings import Finding, Outcome, Phase, Severity
from gate.inventory import Inventory
from gate.kinds import BUILTIN_RESOURCES, KINDS
from gate.netpol import dns_pods
from gate.objects import Object, ObjectRef, dig
from gate.pairs import PairVerdict, ResolvedPair, Unresolvable, combine, judge, resolve
from gate.rules import caller_pair
from gate.schema import validate_live
from gate.status import is_true
from gate.verify.probe import PROBE_LABEL, ProbeKind, ProbePods, ProbeResult, ProbeTarget, exec_probe


def live_inventory(cluster: Cluster, namespaces: set[str], default_namespace: str) -> tuple[Inventory, list[str]]:
    """The objects pair evaluation reads, from the cluster; notes for what could not be read.

    A malformed object is MalformedObject (exit 3): the explanation would rest on it.
    """
    objects = []
    for namespace in sorted(namespaces):
        for spec in KINDS.values():
            if spec.pair_read:
                objects += _valid(spec.name, cluster.list(spec.resource, namespace)[0])
    inventory = Inventory(objects, default_namespace)
    notes = []
    try:
        for item in _valid("Namespace", cluster.list(BUILTIN_RESOURCES["Namespace"], None)[0]):
            labels = dig(item, "metadata", "labels") or {}
            inventory.namespace_labels[dig(item, "metadata", "name")] = {str(k): str(v) for k, v in labels.items()}
    except PermissionDenied:
        notes.append("namespaces are not readable: namespaceSelector peers match namespace names only")
    return inventory, notes


def _valid(kind: str, items: list[Object]) -> list[Object]:
    """Listed objects of a kind, each checked for the API's types (gate.schema.validate_live) before any read."""
    for item in items:
        validate_live(item, kind)
    return items


def foreign_policies(cluster: Cluster) -> str | None:
    try:
        groups = {g.get("name") for g in (cluster.request("GET", "/apis") or {}).get("groups") or []}
    except ClusterError:
        return None
    found = sorted({spec.foreign_policy for spec in KINDS.values()
                    if spec.foreign_policy and spec.resource.group in groups})
    return f"the cluster also serves {', '.join(found)}, which this evaluator does not read" if found else None


def _target(pair: Pair, resolved: ResolvedPair, timeout: float) -> ProbeTarget:
    namespace = pair.target.namespace or resolved.namespace
    port = next((p.get("port") for p in dig(resolved.service, "spec", "ports") or []
                 if p.get("port") == pair.target.port or p.get("name") == pair.target.port), pair.target.port)
    return ProbeTarget(pair.name, resolved.namespace, dict(resolved.caller.labels),
                       f"{pair.target.service}.{namespace}.svc", int(port), pair.http_path, timeout)


def _caller_pod(cluster: Cluster, resolved: ResolvedPair) -> str | None:
    """A Running, Ready pod of the caller, for exec mode."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(resolved.caller.labels.items()))
    pods, _ = cluster.list(BUILTIN_RESOURCES["Pod"], resolved.namespace, label_selector=selector)
    for pod in _valid("Pod", pods):
        is_probe = dig(pod, "metadata", "labels", PROBE_LABEL) is not None
        if dig(pod, "status", "phase") == "Running" and is_true(pod, "Ready") and not is_probe:
            return dig(pod, "metadata", "name")
    return None


def _has_ready_endpoints(cluster: Cluster, resolved: ResolvedPair) -> bool:
    namespace = dig(resolved.service, "metadata", "namespace")
    name = dig(resolved.service, "metadata", "name")
    slices, _ = cluster.list(BUILTIN_RESOURCES["EndpointSlice"], namespace,
                             label_selector=f"kubernetes.io/service-name={name}")
    return any(ready_endpoints(s) for s in _valid("EndpointSlice", slices))


def _finding(pair: Pair, outcome: Outcome, message: str, seconds: float, severity: Severity = Severity.ERROR,
             evidence: tuple[str, ...] = (), fix: tuple[str, ...] = (), namespace: str | None = None) -> Finding:
    return Finding(Phase.CONNECTIVITY, caller_pair.ID, ObjectRef("Pair", namespace, pair.name), pair.name, outcome,
                   message, severity, evidence, fix, (pair.location,), seconds)


RUN_DEADLINE_PASSED = "timed out: the run's deadline (--timeout) passed before the probe had a result"


def unprobed(config: GateConfig, reason: str) -> list[Finding]:
    """A finding per declared pair left unprobed, and why: a report lists every pair it was asked about."""
    return [_finding(pair, Outcome.NOT_CHECKABLE, f"not probed: {reason}", 0.0) for pair in config.pairs]


def timed_out(config: GateConfig) -> list[Finding]:
    """A failed finding per declared pair when the run's deadline passed before the probes could start."""
    return [_finding(pair, Outcome.FAILED, f"{pair.name}: {RUN_DEADLINE_PASSED}", 0.0) for pair in config.pairs]


def probe_pairs(cluster: Cluster, config: GateConfig, default_namespace: str, touched_namespaces: set[str],
                log: Callable[[str], None] = lambda line: None,
                without_endpoints: frozenset[tuple[str | None, str]] = frozenset()) -> list[Finding]:
    """One finding per declared pair; probe pods never outlive this call.

    A caller named without a namespace is looked for in the touched objects' namespaces (else
    the default one), as lint looks for it in the manifests. Pairs whose target Service already
    failed its endpoints check (without_endpoints: (namespace, name)) are explained but not probed:
    a probe could only fail for the cause already reported.
    """
    if not config.pairs:
        return []
    started = time.monotonic()
    namespaces = set(touched_namespaces) or {default_namespace}
    namespaces |= {p.caller.namespace for p in config.pairs if p.caller.namespace}
    namespaces |= {p.target.namespace for p in config.pairs if p.target.namespace}
    inventory, notes = live_inventory(cluster, namespaces, default_namespace)
    findings, resolved = judge_pairs(config, inventory, foreign_policies(cluster), without_endpoints, started)
    targets = {name: _target(item.pair, item, item.pair.timeout or config.probe_timeout)
               for name, (item, _) in resolved.items()}
    log(f"probing {len(targets)} pair(s) from the callers' identities ({config.probe_mode} mode)")
    results = _probe(cluster, config, resolved, list(targets.values()))
    for name, (item, static) in resolved.items():
        pair = item.pair
        live = results.get(name)
        if live is None:  # the run's deadline came first (ProbePods.run)
            findings[name] = _finding(pair, Outcome.FAILED, f"{pair.name}: {RUN_DEADLINE_PASSED}",
                                      time.monotonic() - started, namespace=item.namespace)
            continue
        live_text = str(live)
        if not live.connected and not _has_ready_endpoints(cluster, item):
            live_text += f"; service/{pair.target.service} has no ready endpoints (see its endpoints check)"
        verdict = static.decided[1] if static.decided else None
        combined = combine(pair, verdict, live.connected, live_text)
        evidence = (f"static verdict: {static.message}", *static.evidence, *notes)
        caller = str(pair.caller) if pair.caller.workload else f"<a pod with {pair.caller}>"
        target = targets[name]
        evidence += ("reproduce: " + reproduce_command(item.namespace, caller, target.host, target.port),)
        findings[name] = _finding(pair, combined.outcome, combined.message, time.monotonic() - started,
                                  combined.severity, evidence, combined.fix, item.namespace)
    return [findings[p.name] for p in config.pairs]


def judge_pairs(config: GateConfig, inventory: Inventory, incomplete: str | None,
                without_endpoints: frozenset[tuple[str | None, str]] = frozenset(), started: float | None = None
                ) -> tuple[dict[str, Finding], dict[str, tuple[ResolvedPair, PairVerdict]]]:
    """verify's static part: each pair judged as lint and explain judge it (gate.pairs.judge).

    Returns the findings of the pairs it settles, and the pairs left to the probe with their static verdict.
    Settled: a pair whose objects are not in the cluster (failed), and a pair to a Service whose endpoints
    check failed (not checkable: a probe could only fail for the cause already reported; the message gives
    the static verdict, word for word lint's).
    """
    started = time.monotonic() if started is None else started
    dns = dns_pods(config.dns.namespace, config.dns.labels)
    findings: dict[str, Finding] = {}
    to_probe: dict[str, tuple[ResolvedPair, PairVerdict]] = {}
    for pair in config.pairs:
        try:
            item = resolve(pair, inventory)
        except Unresolvable as why:
            findings[pair.name] = _finding(pair, Outcome.FAILED, f"{pair.name}: {why} in the cluster",
                                           time.monotonic() - started)
            continue
        verdict = judge(item, inventory, incomplete, dns)
        if (dig(item.service, "metadata", "namespace"), pair.target.service) in without_endpoints:
            findings[pair.name] = _finding(
                pair, Outcome.NOT_CHECKABLE,
                f"not probed: service/{pair.target.service} has no ready endpoints (its endpoints check failed); "
                f"static verdict: {verdict.message}", time.monotonic() - started, evidence=verdict.evidence,
                namespace=item.namespace)
            continue
        to_probe[pair.name] = (item, verdict)
    return findings, to_probe


def reproduce_command(namespace: str, caller: str, host: str, port: int) -> str:
    """The probe as one command to paste: `kubectl exec` into the caller, nc to the target (each word quoted)."""
    probe = shell_command("nc", "-w", "3", host, str(port)) + " </dev/null"
    return shell_command("kubectl", "-n", namespace, "exec", caller, "--", "sh", "-c", probe)


def _probe(cluster: Cluster, config: GateConfig, resolved: dict[str, tuple[ResolvedPair, PairVerdict]],
           targets: list[ProbeTarget]) -> dict[str, ProbeResult]:
    if not targets:
        return {}
    if config.probe_mode == "exec":
        results = {}
        for target in targets:
            item = resolved[target.key][0]
            pod = _caller_pod(cluster, item)
            results[target.key] = exec_probe(cluster, target.namespace, pod, target) if pod else ProbeResult(
                ProbeKind.NOT_RUN, f"no Running, Ready pod of {item.pair.caller} to exec in")
        return results
    probes = ProbePods(cluster, config.probe_image)
    probes.remove_stale({t.namespace for t in targets})
    return probes.run(targets, max(t.timeout for t in targets) + 60)

