"""The NetworkPolicy evaluator: each rule of the semantics, table-driven, plus properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.netpol import (
    EGRESS,
    INGRESS,
    Connection,
    ContainerPort,
    PodSide,
    Policy,
    evaluate,
    evaluate_direction,
)

API = PodSide("video-analytics", {"app": "inference-api"}, "deployment/inference-api",
               ports=(ContainerPort(8080, "TCP", "http"), ContainerPort(9090, "TCP", "metrics")))
GATEWAY = PodSide("video-analytics", {"app": "api-gateway"}, "deployment/api-gateway")
FRONTEND = PodSide("video-analytics", {"app": "web-frontend"}, "deployment/web-frontend")
OTHER_NS = PodSide("monitoring", {"app": "api-gateway"}, "deployment/prometheus")
NAMESPACES = {"video-analytics": {"team": "video"}, "monitoring": {"team": "ops"}}


def policy(name: str = "p", namespace: str = "video-analytics", selector: dict | None = None,
           **spec: Any) -> Policy:
    body = {"podSelector": selector if selector is not None else {"matchLabels": {"app": "inference-api"}}, **spec}
    return Policy.from_object({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace},
                               "spec": body})


def allowed(policies: list[Policy], source: PodSide = GATEWAY, destination: PodSide = API, port: int = 8080,
            protocol: str = "TCP") -> bool:
    return evaluate(policies, Connection(source, destination, port, protocol), NAMESPACES).allowed


INCIDENT = policy("inference-api-netpol", policyTypes=["Ingress"], ingress=[
    {"from": [{"podSelector": {"matchLabels": {"app": "api-gateway"}}}], "ports": [{"port": 8080}]}])


def test_no_policy_allows_everything() -> None:
    assert allowed([]) and allowed([], FRONTEND)


def test_incident_policy_admits_gateway_and_explains_frontend_denial() -> None:
    assert allowed([INCIDENT], GATEWAY)
    verdict = evaluate([INCIDENT], Connection(FRONTEND, API, 8080), NAMESPACES)
    assert not verdict.allowed
    summary = verdict.summary()
    assert "inference-api-netpol selects pods app=inference-api" in summary
    assert "its only ingress rule admits pods app=api-gateway" in summary
    assert "caller has app=web-frontend" in summary


def test_incident_fix_patch_admits_the_caller_when_applied() -> None:
    verdict = evaluate([INCIDENT], Connection(FRONTEND, API, 8080), NAMESPACES)
    [patch] = verdict.fixes()
    assert patch.startswith("kubectl patch networkpolicy inference-api-netpol -n video-analytics --type=json -p=")
    operations = json.loads(patch.split("-p=", 1)[1].strip("'"))
    assert operations == [{"op": "add", "path": "/spec/ingress/0/from/-",
                           "value": {"podSelector": {"matchLabels": {"app": "web-frontend"}}}}]
    patched = policy("inference-api-netpol", policyTypes=["Ingress"], ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "api-gateway"}}}, operations[0]["value"]],
         "ports": [{"port": 8080}]}])
    assert allowed([patched], FRONTEND)


@pytest.mark.parametrize(("spec", "types"), [
    ({}, {INGRESS}),
    ({"egress": [{}]}, {INGRESS, EGRESS}),
    ({"egress": []}, {INGRESS}),
    ({"policyTypes": ["Egress"]}, {EGRESS}),
])
def test_policy_types_default_like_the_api_server(spec: dict, types: set[str]) -> None:
    assert policy(**spec).types == types


@pytest.mark.parametrize(("spec", "source", "port", "expected"), [
    # a policy with the type but no rules denies all of that direction
    ({"policyTypes": ["Ingress"]}, GATEWAY, 8080, False),
    ({"policyTypes": ["Ingress"], "ingress": []}, GATEWAY, 8080, False),
    # ingress: [{}] admits everything
    ({"ingress": [{}]}, FRONTEND, 8080, True),
    # empty from / empty ports match all
    ({"ingress": [{"ports": [{"port": 8080}]}]}, OTHER_NS, 8080, True),
    ({"ingress": [{"from": [{"podSelector": {}}]}]}, FRONTEND, 9090, True),
    # podSelector alone: only the policy's namespace
    ({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api-gateway"}}}]}]}, OTHER_NS, 8080, False),
    # namespaceSelector alone: every pod of matching namespaces
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}]}, OTHER_NS, 8080, True),
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}]}, GATEWAY, 8080, False),
    # namespaces are labelled with their name
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]}]}, OTHER_NS, 8080, True),
    # both in one peer: AND
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}},
                             "podSelector": {"matchLabels": {"app": "other"}}}]}]}, OTHER_NS, 8080, False),
    # separate peers: OR
    ({"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}},
                            {"podSelector": {"matchLabels": {"app": "other"}}}]}]}, OTHER_NS, 8080, True),
    # empty namespaceSelector: all namespaces
    ({"ingress": [{"from": [{"namespaceSelector": {}}]}]}, OTHER_NS, 8080, True),
    # matchExpressions
    ({"ingress": [{"from": [{"podSelector": {"matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["web-frontend"]}]}}]}]}, FRONTEND, 8080, False),
    ({"ingress": [{"from": [{"podSelector": {"matchExpressions": [
        {"key": "app", "operator": "Exists"}]}}]}]}, FRONTEND, 8080, True),
    # ports: number, protocol default TCP, endPort range, named port on the destination
    ({"ingress": [{"ports": [{"port": 9090}]}]}, GATEWAY, 8080, False),
    ({"ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]}, GATEWAY, 8080, True),
    ({"ingress": [{"ports": [{"port": 8000, "endPort": 8079}]}]}, GATEWAY, 8080, False),
    ({"ingress": [{"ports": [{"port": "http"}]}]}, GATEWAY, 8080, True),
    ({"ingress": [{"ports": [{"port": "metrics"}]}]}, GATEWAY, 8080, False),
    ({"ingress": [{"ports": [{"port": "http", "protocol": "UDP"}]}]}, GATEWAY, 8080, False),
    ({"ingress": [{"ports": [{"protocol": "TCP"}]}]}, GATEWAY, 8080, True),
    # rules are unions
    ({"ingress": [{"ports": [{"port": 9090}]}, {"from": [{"podSelector": {"matchLabels": {"app": "api-gateway"}}}]}]},
     GATEWAY, 8080, True),
])
def test_ingress_rules(spec: dict, source: PodSide, port: int, expected: bool) -> None:
    assert allowed([policy(**spec)], source, port=port) is expected


def test_policy_in_another_namespace_or_not_selecting_the_pod_does_not_isolate() -> None:
    deny_all = {"policyTypes": ["Ingress"]}
    assert allowed([policy(namespace="monitoring", **deny_all)])
    assert allowed([policy(selector={"matchLabels": {"app": "other"}}, **deny_all)])
    assert not allowed([policy(selector={}, **deny_all)])  # {} selects every pod of the namespace


def test_egress_of_the_caller_must_allow_too() -> None:
    caller_egress = policy("gateway-egress", selector={"matchLabels": {"app": "api-gateway"}}, policyTypes=["Egress"],
                           egress=[{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}])
    verdict = evaluate([caller_egress], Connection(GATEWAY, API, 8080), NAMESPACES)
    assert not verdict.allowed and verdict.ingress.allowed and not verdict.egress.allowed
    assert "gateway-egress selects pods app=api-gateway" in verdict.summary()
    assert "target has app=inference-api" in verdict.summary()
    [patch] = verdict.fixes()
    # The existing rule admits every port: a peer added there would be admitted on all of them.
    assert ('"path":"/spec/egress/-","value":{"to":[{"podSelector":{"matchLabels":{"app":"inference-api"}}}],'
            '"ports":[{"port":8080,"protocol":"TCP"}]}') in patch


def test_ip_block_needs_a_pod_ip_and_honours_except() -> None:
    spec = {"ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.0/24"]}}]}]}
    assert not allowed([policy(**spec)], GATEWAY)  # static mode: no IP known
    verdict = evaluate([policy(**spec)], Connection(GATEWAY, API, 8080), NAMESPACES)
    assert "ipBlock peers need the pod IP" in verdict.summary()
    with_ip = PodSide(GATEWAY.namespace, GATEWAY.labels, ip="10.244.0.7")
    excepted = PodSide(GATEWAY.namespace, GATEWAY.labels, ip="10.244.1.7")
    assert allowed([policy(**spec)], with_ip) and not allowed([policy(**spec)], excepted)


def test_other_namespace_caller_patch_adds_a_namespace_selector() -> None:
    verdict = evaluate([INCIDENT], Connection(OTHER_NS, API, 8080), NAMESPACES)
    [patch] = verdict.fixes()
    assert '"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}' in patch


def test_rule_with_other_ports_gets_a_new_rule_not_a_peer() -> None:
    metrics_only = policy("m", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "prom"}}}],
                                         "ports": [{"port": 9090}]}])
    [patch] = evaluate([metrics_only], Connection(GATEWAY, API, 8080), NAMESPACES).fixes()
    assert '"path":"/spec/ingress/-"' in patch and '"ports":[{"port":8080,"protocol":"TCP"}]' in patch
    no_rules = policy("d", policyTypes=["Ingress"])
    [patch] = evaluate([no_rules], Connection(GATEWAY, API, 8080), NAMESPACES).fixes()
    assert '"path":"/spec/ingress"' in patch


def test_allow_names_the_admitting_rule() -> None:
    verdict = evaluate_direction([INCIDENT], INGRESS, Connection(GATEWAY, API, 8080), NAMESPACES)
    assert verdict.admitted_by == "inference-api-netpol ingress rule 1"


def test_incomplete_is_carried_into_the_explanation() -> None:
    verdict = evaluate([], Connection(GATEWAY, API, 8080), NAMESPACES, incomplete="cluster has Calico policies")
    assert "possibly incomplete: cluster has Calico policies" in verdict.explanation()


# --- properties -------------------------------------------------------------

APPS = ["inference-api", "api-gateway", "web-frontend"]
label_sets = st.fixed_dictionaries({"app": st.sampled_from(APPS)})
selectors = st.one_of(st.just({}), st.builds(lambda app: {"matchLabels": {"app": app}}, st.sampled_from(APPS)))
ports = st.lists(st.fixed_dictionaries({"port": st.sampled_from([8080, 9090, "http"])}), max_size=2)
peers = st.lists(st.one_of(
    st.builds(lambda s: {"podSelector": s}, selectors),
    st.builds(lambda team: {"namespaceSelector": {"matchLabels": {"team": team}}}, st.sampled_from(["video", "ops"])),
), max_size=2)
ingress_rules = st.lists(st.builds(lambda f, p: {"from": f, "ports": p}, peers, ports), max_size=3)
egress_rules = st.lists(st.builds(lambda t, p: {"to": t, "ports": p}, peers, ports), max_size=3)
type_sets = st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"], None])


@st.composite
def policies(draw: st.DrawFn, name: str = "p") -> Policy:
    spec: dict[str, Any] = {"podSelector": draw(selectors), "ingress": draw(ingress_rules),
                            "egress": draw(egress_rules)}
    types = draw(type_sets)
    if types is not None:
        spec["policyTypes"] = types
    return Policy.from_object({"metadata": {"name": name, "namespace": "video-analytics"}, "spec": spec})


endpoints = st.builds(lambda labels: PodSide("video-analytics", labels, ports=API.ports), label_sets)


def _selects_in_direction(p: Policy, connection: Connection) -> bool:
    return ((INGRESS in p.types and p.selects(connection.destination))
            or (EGRESS in p.types and p.selects(connection.source)))


@settings(max_examples=300, deadline=None)
@given(st.lists(policies(), max_size=4), policies("added"), endpoints, endpoints, st.sampled_from([8080, 9090]))
def test_adding_a_policy_turns_deny_into_allow_only_when_it_selects_the_pods(
        existing: list[Policy], added: Policy, source: PodSide, destination: PodSide, port: int) -> None:
    connection = Connection(source, destination, port)
    before = evaluate(existing, connection, NAMESPACES).allowed
    after = evaluate([*existing, added], connection, NAMESPACES).allowed
    if not before and after:
        assert _selects_in_direction(added, connection)
    if not _selects_in_direction(added, connection):
        assert before == after


@settings(max_examples=300, deadline=None)
@given(st.lists(policies(), min_size=1, max_size=4), endpoints, endpoints, st.sampled_from([8080, 9090]),
       st.randoms(use_true_random=False))
def test_reordering_policies_and_rules_never_changes_the_verdict(
        existing: list[Policy], source: PodSide, destination: PodSide, port: int, rng: Any) -> None:
    connection = Connection(source, destination, port)
    expected = evaluate(existing, connection, NAMESPACES).allowed
    shuffled = []
    for p in existing:
        ingress = list(p.ingress or ())
        egress = list(p.egress or ())
        rng.shuffle(ingress)
        rng.shuffle(egress)
        shuffled.append(Policy(p.name, p.namespace, p.pod_selector, p.types, tuple(ingress) if p.ingress is not None
                               else None, tuple(egress) if p.egress is not None else None))
    rng.shuffle(shuffled)
    assert evaluate(shuffled, connection, NAMESPACES).allowed == expected


@settings(max_examples=200, deadline=None)
@given(selectors, st.sampled_from([INGRESS, EGRESS]), endpoints, endpoints, st.sampled_from([8080, 9090]))
def test_a_policy_with_a_type_and_no_rules_denies_all_it_selects(
        selector: dict, direction: str, source: PodSide, destination: PodSide, port: int) -> None:
    empty = Policy.from_object({"metadata": {"name": "deny", "namespace": "video-analytics"},
                                "spec": {"podSelector": selector, "policyTypes": [direction]}})
    connection = Connection(source, destination, port)
    subject = destination if direction == INGRESS else source
    verdict = evaluate_direction([empty], direction, connection, NAMESPACES)
    assert verdict.allowed is (not empty.selects(subject))


def test_live_values_no_manifest_check_saw_are_judged_not_crashed_on() -> None:
    """A port written with a non-ASCII digit names no port; a malformed CIDR holds no address."""
    superscript = policy(policyTypes=["Ingress"], ingress=[{"ports": [{"port": "8²"}]}])
    assert not allowed([superscript])
    block = policy(policyTypes=["Ingress"], ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}])
    with_ip = PodSide(GATEWAY.namespace, GATEWAY.labels, GATEWAY.display, ip="10.0.0.7")
    assert not allowed([block], source=with_ip)
