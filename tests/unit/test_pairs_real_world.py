"""Caller pairs on a default-deny shop: every policy fix is applied, and it must open the one pair, nothing more.

The app (written here, modelled on common microservice demos): a namespace-wide deny-all baseline plus one
allow policy per service. Faults are injected one at a time into the policies or the Services; the pair
that breaks must get a fix that never touches the baseline, and after the fix the reachability matrix of
every workload to every Service port may differ from the healthy app's only by that pair.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.config import Caller, GateConfig, Pair, Target, load_config
from gate.findings import Finding, Outcome
from gate.inventory import Inventory
from gate.lint import lint
from gate.location import Location
from gate.manifests import load
from gate.pairs import Unresolvable, resolve, static_verdicts
from tests.testing.patching import apply_fix

NS = "shop"
# service: (port, callers)
SERVICES = {"frontend": (8080, []), "cart": (7070, ["frontend", "checkout"]), "checkout": (5050, ["frontend"]),
            "payment": (50051, ["checkout"]), "shipping": (50051, ["checkout"]), "redis": (6379, ["cart"])}
PAIRS = [(caller, target) for target, (_, callers) in SERVICES.items() for caller in callers]


def workload(name: str, port: int) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": name, "image": f"shop/{name}:1",
                                "ports": [{"name": "serve", "containerPort": port}]}]}}}}


def service(name: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"app": name}, "ports": [{"name": "serve", "port": port, "targetPort": port}]}}


def allow_policy(name: str, port: int, callers: list[str]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-ingress", "namespace": NS},
            "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": c}}} for c in callers],
                                  "ports": [{"port": port, "protocol": "TCP"}]}]}}


DENY_ALL = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny-all", "namespace": NS}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def shop() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, DENY_ALL]
    for name, (port, callers) in SERVICES.items():
        objects += [workload(name, port), service(name, port)]
        if callers:
            objects.append(allow_policy(name, port, callers))
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def inventory(objects: list[dict[str, Any]], tmp_path: Path) -> Inventory:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return Inventory.from_manifests(load([str(path)]).manifests)


def reachability(objects: list[dict[str, Any]], tmp_path: Path) -> set[tuple[str, str]]:
    """Every (caller workload, Service) that the policies allow: the whole matrix, not only declared pairs."""
    inv = inventory(objects, tmp_path)
    allowed = set()
    for caller in SERVICES:
        for target, (port, _) in SERVICES.items():
            pair = Pair(Caller(NS, ("Deployment", caller)), Target(target, NS, port), True, None, None,
                        Location("gate.yaml", 1))
            try:
                verdicts = static_verdicts(resolve(pair, inv), inv)
            except Unresolvable:
                continue
            if verdicts and all(v.allowed for _, v in verdicts):
                allowed.add((caller, target))
    return allowed


def gate_config(tmp_path: Path) -> GateConfig:
    path = tmp_path / "gate.yaml"
    path.write_text("pairs:\n" + "".join(f"- from: deployment/{c}\n  to: {t}:{SERVICES[t][0]}\n" for c, t in PAIRS)
                    + "- from: deployment/frontend\n  to: redis:6379\n  expect: deny\n")
    return load_config(path)


def pair_errors(objects: list[dict[str, Any]], tmp_path: Path) -> list[Finding]:
    findings = lint(inventory(objects, tmp_path), gate_config(tmp_path))
    return [f for f in findings if f.rule == "caller-pair" and f.is_error]


def drop_peer(name: str, caller: str) -> Callable[[list[dict[str, Any]]], None]:
    def fault(objects: list[dict[str, Any]]) -> None:
        rule = find(objects, "NetworkPolicy", f"{name}-ingress")["spec"]["ingress"][0]
        rule["from"] = [p for p in rule["from"] if p["podSelector"]["matchLabels"]["app"] != caller]
    return fault


def delete_policy(name: str) -> Callable[[list[dict[str, Any]]], None]:
    def fault(objects: list[dict[str, Any]]) -> None:
        objects.remove(find(objects, "NetworkPolicy", f"{name}-ingress"))
    return fault


def wrong_port(name: str, port: int) -> Callable[[list[dict[str, Any]]], None]:
    def fault(objects: list[dict[str, Any]]) -> None:
        find(objects, "NetworkPolicy", f"{name}-ingress")["spec"]["ingress"][0]["ports"] = [{"port": port}]
    return fault


def selector_typo(name: str) -> Callable[[list[dict[str, Any]]], None]:
    def fault(objects: list[dict[str, Any]]) -> None:
        find(objects, "NetworkPolicy", f"{name}-ingress")["spec"]["podSelector"]["matchLabels"]["app"] = name[:-1]
    return fault


def peer_label_typo(name: str, caller: str) -> Callable[[list[dict[str, Any]]], None]:
    def fault(objects: list[dict[str, Any]]) -> None:
        for peer in find(objects, "NetworkPolicy", f"{name}-ingress")["spec"]["ingress"][0]["from"]:
            if peer["podSelector"]["matchLabels"]["app"] == caller:
                peer["podSelector"]["matchLabels"] = {"app.kubernetes.io/name": caller}
    return fault


FAULTS = {
    "cart loses checkout": drop_peer("cart", "checkout"),
    "cart loses frontend": drop_peer("cart", "frontend"),
    "payment policy deleted": delete_policy("payment"),
    "shipping policy deleted": delete_policy("shipping"),
    "redis policy on the wrong port": wrong_port("redis", 6380),
    "checkout policy on the wrong port": wrong_port("checkout", 5051),
    "checkout policy selector typo": selector_typo("checkout"),
    "payment policy selector typo": selector_typo("payment"),
    "cart peer label typo": peer_label_typo("cart", "checkout"),
    "redis peer label typo": peer_label_typo("redis", "cart"),
}


def test_the_healthy_shop_lints_clean(tmp_path: Path) -> None:
    assert pair_errors(shop(), tmp_path) == []
    assert reachability(shop(), tmp_path) == set(PAIRS)


@pytest.mark.parametrize("fault", FAULTS)
def test_each_policy_fault_gets_a_fix_that_opens_only_the_broken_pair(tmp_path: Path, fault: str) -> None:
    healthy = reachability(shop(), tmp_path)
    broken = shop()
    FAULTS[fault](broken)
    failures = pair_errors(broken, tmp_path)
    assert failures, "the fault must be noticed"
    fixed = broken
    for finding in failures:
        assert not finding.fix[0].startswith("kubectl patch networkpolicy deny-all"), finding.fix
        fixed = apply_fix(fixed, finding.fix[0])
    assert pair_errors(fixed, tmp_path) == []
    opened = reachability(fixed, tmp_path)
    assert opened <= healthy, f"the fix opened {opened - healthy}"


def test_only_a_baseline_isolating_the_target_gets_a_new_scoped_policy(tmp_path: Path) -> None:
    broken = shop()
    delete_policy("payment")(broken)
    [finding] = pair_errors(broken, tmp_path)
    [created] = [obj for obj in apply_fix(broken, finding.fix[0]) if obj not in broken]
    assert created["spec"]["podSelector"] == {"matchLabels": {"app": "payment"}}
    assert created["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "checkout"}}}],
                                           "ports": [{"port": 50051, "protocol": "TCP"}]}]


def test_pair_finding_points_at_the_deciding_policy(tmp_path: Path) -> None:
    broken = shop()
    drop_peer("cart", "checkout")(broken)
    [finding] = pair_errors(broken, tmp_path)
    assert finding.locations[0].file.endswith("gate.yaml")
    lines = (tmp_path / "shop.yaml").read_text().splitlines()
    policy_line = finding.locations[1]
    assert policy_line.file.endswith("shop.yaml") and lines[policy_line.line - 1].strip() == "ingress:"
    assert "cart-ingress" in "\n".join(lines[policy_line.line - 12:policy_line.line])


def test_a_likely_wrong_numeric_target_port_gets_the_verdict_and_the_target_port_fix(tmp_path: Path) -> None:
    """A number gets endpoints: the pair is judged on 7071, and its fix is the targetPort, not a policy opening 7071."""
    broken = shop()
    find(broken, "Service", "cart")["spec"]["ports"][0]["targetPort"] = 7071  # the app listens on 7070
    findings = [f for f in lint(inventory(broken, tmp_path), gate_config(tmp_path)) if f.rule == "caller-pair"
                and f.subject.name.endswith("-> cart:7070 allow")]
    assert findings and {f.outcome for f in findings} == {Outcome.FAILED}
    assert "cannot connect to deployment/cart port 7071/TCP: blocked: ingress: denied" in findings[0].message
    assert ("note: targetPort 7071 of port serve (7070/TCP) is likely wrong: deployment/cart declares "
            "serve=7070/TCP, a near miss of 7071, and nothing else in its pod template names 7071; its pods are "
            "likely not listening on 7071") in findings[0].evidence
    assert all(f.fix[0].startswith("kubectl patch service cart -n shop --type=json -p='[{\"op\":\"replace\","
                                   "\"path\":\"/spec/ports/0/targetPort\",\"value\":\"serve\"}]'")
               for f in findings)


def test_service_selecting_another_application_is_judged_before_the_policy(tmp_path: Path) -> None:
    broken = shop()
    find(broken, "Service", "payment")["spec"]["selector"] = {"app": "shipping"}
    [finding] = [f for f in lint(inventory(broken, tmp_path), gate_config(tmp_path))
                 if f.rule == "caller-pair" and "payment" in f.subject.name]
    assert finding.outcome is Outcome.NOT_CHECKABLE and finding.fix == ()
    assert "service/payment selects deployment/shipping, not deployment/payment (app=payment)" in finding.message


def test_blue_green_services_are_still_judged(tmp_path: Path) -> None:
    objects = shop()
    green = workload("cart-green", 7070)
    green["spec"]["template"]["metadata"]["labels"] = {"app": "cart", "slot": "green"}
    green["spec"]["selector"]["matchLabels"] = {"app": "cart", "slot": "green"}
    find(objects, "Service", "cart")["spec"]["selector"] = {"app": "cart", "slot": "green"}
    objects.append(green)
    findings = [f for f in lint(inventory(objects, tmp_path), gate_config(tmp_path))
                if f.rule == "caller-pair" and "-> cart:" in f.subject.name]
    assert {f.outcome for f in findings} == {Outcome.PASSED}


@pytest.mark.parametrize(("change", "reason"), [
    ({"selector": {"app": "nobody"}}, "(pods of deployment/cart have app=cart instead of app=nobody); the cause is "
                                      "its selector"),
    ({"selector": {"app": "cart", "tier": "backend"}}, "(pods of deployment/cart lack tier=backend); the cause is its "
                                                       "selector"),
    ({"ports": [{"port": 7070, "targetPort": "grpc"}]},
     "(targetPort 'grpc' names no container port of deployment/cart)"),
])
def test_explain_without_endpoints_is_an_answer(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    objects = shop()
    find(objects, "Service", "cart")["spec"].update(change)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    result = CliRunner().invoke(main, ["explain", "--from", "shop/frontend", "--to", "shop/cart:7070", "-f", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"DENY  deployment/frontend (shop) -> cart.shop:7070: cannot connect: service/cart "
                                    f"has no endpoints {reason}")
