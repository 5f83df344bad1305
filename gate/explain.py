"""`deploy-gate explain`: would NetworkPolicies let this caller reach this Service port, judged from manifests or
the live cluster as lint and verify judge a declared pair (gate.pairs). gate.report.explain renders it."""

from __future__ import annotations

from gate.config import Caller, Pair, Target, caller_from_text, target_from_text
from gate.errors import UsageError
from gate.inputs import load_manifests, open_cluster
from gate.inventory import Inventory
from gate.pairs import PairVerdict, ResolvedPair, Unresolvable, judge, resolve
from gate.schema import port_of


def explained(caller_text: str, target_text: str, files: tuple[str, ...], kustomize: tuple[str, ...], live: bool,
              namespace: str | None, context: str | None, kubeconfig: str | None, request_timeout: float | None
              ) -> tuple[ResolvedPair, PairVerdict]:
    """The pair the command line names, resolved in the objects read, and its verdict."""
    if not live and (context or kubeconfig or request_timeout is not None):
        given = " and ".join(f for f, v in (("--context", context), ("--kubeconfig", kubeconfig),
                                            ("--request-timeout", request_timeout is not None)) if v)
        raise UsageError(f"{given} need --live: without it explain reads manifests, not a cluster")
    if live and (files or kustomize):
        raise UsageError("explain reads either manifests (-f, -k) or the cluster (--live), not both")
    caller, target = parse_explain_caller(caller_text), parse_explain_target(target_text)
    pair = Pair(caller, target, True, None, None, "command line")
    incomplete = None
    if live:
        from gate.verify.connectivity import foreign_policies, live_inventory

        cluster = open_cluster(kubeconfig, context, request_timeout)
        default_namespace = namespace or cluster.namespace
        namespaces = {caller.namespace or default_namespace} | ({target.namespace} if target.namespace else set())
        inventory, _ = live_inventory(cluster, namespaces, default_namespace)
        incomplete = foreign_policies(cluster)
    else:
        if not files and not kustomize:
            raise UsageError("explain reads manifests (-f PATH, -k DIR) or the cluster (--live)")
        manifests = load_manifests(files, kustomize, namespace)
        inventory = Inventory.from_manifests(manifests.manifests, namespace or "default")
    try:
        resolved = resolve(pair, inventory)
    except Unresolvable as why:
        raise UsageError(f"cannot explain {caller_text} -> {target_text}: {why}") from why
    verdict = judge(resolved, inventory, incomplete)  # as lint and verify judge a declared pair
    return resolved, verdict


def parse_explain_caller(text: str) -> Caller:
    """NS/KIND/NAME, NS/NAME, KIND/NAME or NAME (any workload kind)."""
    caller = caller_from_text(text, any_kind=True)
    if caller is None:
        raise UsageError(f"--from {text!r}: expected NAMESPACE/KIND/NAME, NAMESPACE/NAME, KIND/NAME or NAME")
    return caller


def parse_explain_target(text: str) -> Target:
    """NS/SERVICE:PORT or SERVICE[.NS]:PORT."""
    target = target_from_text(text, slash_namespace=True)
    if target is None:
        raise UsageError(f"--to {text!r}: expected NAMESPACE/SERVICE:PORT or SERVICE[.NAMESPACE]:PORT")
    if port_of(str(target.port)) is None:
        raise UsageError(f"--to {text!r}: expected a port number (1-65535) or a port name after ':', "
                         f"got {str(target.port)!r}")
    return target
