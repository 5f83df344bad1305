"""A caller isolated for egress must reach the cluster DNS to resolve the Service's name (gate.yaml pairs are by name).

UDP 53 to the DNS pods is what "admits DNS" means (resolvers fall back to TCP only for truncated answers:
TCP 53 missing is a note). The egress fix adds UDP and TCP 53 to the DNS pods, and nothing else: every
other declared pair keeps its verdict once it is applied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.config import GateConfig, load_config
from gate.errors import ConfigError
from gate.findings import Finding, Outcome
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from tests.testing.git import EXAMPLES
from tests.testing.lint import only, workload
from tests.testing.patching import apply_fix

NS = "shop"
DNS_PEER = {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
DNS_RULE = {"to": [DNS_PEER], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
PAIRS = """\
pairs:
- from: deployment/gateway
  to: api:80
- from: deployment/gateway
  to: cache:80
  expect: deny
- from: deployment/frontend
  to: api:80
- from: deployment/frontend
  to: cache:80
"""
GATEWAY = "deployment/gateway -> api:80 allow"


def app(name: str) -> list[dict[str, Any]]:
    labels = {"app": name}
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
             "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                 "containers": [{"name": name, "image": "x", "ports": [{"containerPort": 80}]}]}}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
             "spec": {"selector": labels, "ports": [{"port": 80}]}}]


def egress_policy(name: str, selector: dict[str, Any], egress: list[dict[str, Any]] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": ["Egress"]}
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


TO_API = {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 80}]}


def shop(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
            *app("gateway"), *app("api"), *app("cache"), *app("frontend"), *policies]


def pair_findings(tmp_path: Path, objects: list[dict[str, Any]], config_text: str = PAIRS) -> dict[str, Finding]:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    (tmp_path / "gate.yaml").write_text(config_text)
    inventory = Inventory.from_manifests(load([str(tmp_path / "m.yaml")]).manifests)
    return {f.subject.name: f for f in lint(inventory, load_config(tmp_path / "gate.yaml")) if f.rule == "caller-pair"}


def verdicts(findings: dict[str, Finding]) -> dict[str, tuple[str, bool]]:
    """Each pair's outcome, and whether it connects (the text of a blocked one may lose its DNS part)."""
    return {name: (f.outcome.value, ": connects to " in f.message) for name, f in findings.items()}


def fix_and_compare(tmp_path: Path, objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Finding]:
    """Apply the gateway pair's one fix: it passes, and no other declared pair's verdict changes."""
    before = pair_findings(tmp_path, objects)
    broken = before[GATEWAY]
    assert broken.is_error and len(broken.fix) == 1, broken
    fixed = apply_fix(objects, broken.fix[0])
    after = pair_findings(tmp_path, fixed)
    assert not after[GATEWAY].is_error, after[GATEWAY].message
    unchanged = {name: v for name, v in verdicts(before).items() if name != GATEWAY}
    assert {name: v for name, v in verdicts(after).items() if name != GATEWAY} == unchanged
    assert "blocked: egress: denied; " in after["deployment/gateway -> cache:80 deny"].message  # still kept out
    return fixed, broken


def test_an_egress_policy_without_dns_keeps_the_caller_out_and_its_fix_adds_dns_only(tmp_path: Path) -> None:
    objects = shop(egress_policy("gateway-egress", {"matchLabels": {"app": "gateway"}}, [TO_API]))
    fixed, finding = fix_and_compare(tmp_path, objects)
    assert finding.message == (
        f"{GATEWAY}: cannot connect to deployment/api port 80/TCP: blocked: DNS egress: denied; gateway-egress "
        "selects pods app=gateway; its only egress rule allows to pods app=api on 80/TCP; target has "
        "k8s-app=kube-dns in namespace kube-system")
    assert ("DNS is blocked: the caller's egress policies do not allow UDP 53 to cluster DNS pods k8s-app=kube-dns "
            "in namespace kube-system; the Service's name will not resolve, so the caller cannot connect"
            ) in finding.evidence
    assert finding.fix == (
        "kubectl patch networkpolicy gateway-egress -n shop --type=json "
        "-p='[{\"op\":\"add\",\"path\":\"/spec/egress/-\","
        f"\"value\":{json.dumps(DNS_RULE, separators=(',', ':'))}}}]'",)
    [policy] = [o for o in fixed if o["kind"] == "NetworkPolicy"]
    assert policy["spec"]["egress"] == [TO_API, DNS_RULE]


def test_explain_denies_naming_dns(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(
        shop(egress_policy("gateway-egress", {"matchLabels": {"app": "gateway"}}, [TO_API])), sort_keys=False))
    result = CliRunner().invoke(main, ["explain", "--from", "shop/gateway", "--to", "shop/api:80",
                                       "-f", str(tmp_path / "m.yaml")])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "DENY  deployment/gateway (shop) -> api.shop:80: cannot connect to deployment/api port 80/TCP: blocked: "
        "DNS egress: denied; gateway-egress selects pods app=gateway; its only egress rule allows to pods app=api "
        "on 80/TCP; target has k8s-app=kube-dns in namespace kube-system")


def test_an_egress_policy_with_no_rules_gets_one_patch_for_the_connection_and_dns(tmp_path: Path) -> None:
    """Two `add /spec/egress` operations would each replace the list: one operation creates it with both rules."""
    objects = shop(egress_policy("gateway-egress", {"matchLabels": {"app": "gateway"}}, None))
    fixed, finding = fix_and_compare(tmp_path, objects)
    assert "blocked: egress: denied; gateway-egress selects pods app=gateway and has no egress rules" in \
        finding.message and " and DNS egress: denied; " in finding.message
    [policy] = [o for o in fixed if o["kind"] == "NetworkPolicy"]
    assert policy["spec"]["egress"] == [
        {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 80, "protocol": "TCP"}]},
        DNS_RULE]


def test_a_namespace_wide_default_deny_is_never_widened_a_scoped_policy_admits_dns(tmp_path: Path) -> None:
    objects = shop(egress_policy("deny-all-egress", {}, None), egress_policy("allow-api", {}, [TO_API]))
    fixed, _ = fix_and_compare(tmp_path, objects)  # the frontend's pairs still lack DNS: unchanged verdicts
    [created] = [o for o in fixed if o not in objects]
    assert created["metadata"] == {"name": "allow-dns-from-gateway", "namespace": NS}
    assert created["spec"] == {"podSelector": {"matchLabels": {"app": "gateway"}}, "policyTypes": ["Egress"],
                               "egress": [DNS_RULE]}


def test_udp_53_alone_admits_dns_and_tcp_missing_is_a_note(tmp_path: Path) -> None:
    udp_only = {"to": [DNS_PEER], "ports": [{"port": 53, "protocol": "UDP"}]}
    findings = pair_findings(tmp_path, shop(egress_policy("gateway-egress", {"matchLabels": {"app": "gateway"}},
                                                          [TO_API, udp_only])))
    assert not findings[GATEWAY].is_error
    assert ("DNS over TCP is blocked: the caller's egress policies allow UDP 53 to cluster DNS pods k8s-app=kube-dns "
            "in namespace kube-system but not TCP 53; ordinary lookups work, an answer too large for UDP (retried "
            "over TCP) fails") in findings[GATEWAY].evidence


def test_the_dns_pods_are_set_in_gate_yaml(tmp_path: Path) -> None:
    to_coredns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns-system"}},
                          "podSelector": {"matchLabels": {"app": "coredns"}}}],
                  "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    objects = shop(egress_policy("gateway-egress", {"matchLabels": {"app": "gateway"}}, [TO_API, to_coredns]))
    assert pair_findings(tmp_path, objects)[GATEWAY].is_error  # by default the DNS pods are kube-dns's
    configured = PAIRS + "dns:\n  namespace: dns-system\n  labels: {app: coredns}\n"
    assert not pair_findings(tmp_path, objects, configured)[GATEWAY].is_error


@pytest.mark.parametrize(("text", "message"), [
    ("dns: {labels: {}}\n", "gate.yaml:1: dns.labels: dns needs at least one label"),
    ("dns: {namespace: Bad_NS}\n", "gate.yaml:1: dns.namespace: "),
    ("dns: {label: {a: b}}\n", "gate.yaml:1: dns.label: unknown field (did you mean 'labels'?)"),
    ("dns: kube-system\n", "gate.yaml:1: dns: expected a mapping, got 'kube-system'"),
])
def test_a_wrong_dns_setting_is_one_line_naming_the_field(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "gate.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "gate.yaml")
    assert str(error.value).startswith(f"{tmp_path}/{message}")


def _pair_config(tmp_path: Path, text: str) -> GateConfig:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return load_config(path)


def test_pair_expectation_contradicted_by_policy_is_an_error_with_patch(tmp_path: Path) -> None:
    result = load([str(EXAMPLES / "incident-scenario-2-fixed" / "manifests")])
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/web-frontend\n  to: inference-api:8080\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.is_error
    assert "inference-api-netpol" in finding.message and "app=api-gateway" in finding.message
    assert finding.fix[0].startswith("kubectl patch networkpolicy inference-api-netpol")
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/api-gateway\n  to: inference-api:http\n"
                                    "  expect: deny\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.is_error and "deny: connects to deployment/inference-api port 8080/TCP" in finding.message


def test_pair_with_unknown_caller_is_not_checkable(tmp_path: Path) -> None:
    result = load([str(EXAMPLES / "incident-scenario-2-fixed" / "manifests")])
    config = _pair_config(tmp_path, "pairs:\n- from: deployment/elsewhere\n  to: inference-api:8080\n")
    [finding] = only(lint(Inventory.from_manifests(result.manifests), config), "caller-pair")
    assert finding.outcome is Outcome.NOT_CHECKABLE and "deployment/elsewhere is not in the set" in finding.message


@pytest.mark.parametrize(("written", "meant"), [("web-frontnd", "web-frontend"), ("wbe", "web")])
def test_a_caller_a_typo_away_from_one_in_the_set_is_a_gate_yaml_error(tmp_path: Path, written: str,
                                                                        meant: str) -> None:
    """Not 'not checkable' (it might live in the cluster): a near miss of a workload in the set is a typo."""
    objects = [workload("Deployment", meant, {"app": meant}), workload("Deployment", "api", {"app": "api"}),
               {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
                "spec": {"selector": {"app": "api"}, "ports": [{"port": 8080}]}}]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(objects))
    (tmp_path / "gate.yaml").write_text(f"pairs:\n- from: deployment/{written}\n  to: api.shop:8080\n")
    result = CliRunner().invoke(main, ["lint", str(tmp_path)])
    assert result.exit_code == 2
    pair = f"deployment/{written} -> api.shop:8080 allow"
    assert result.stderr == (f"deploy-gate: error: {tmp_path / 'gate.yaml'}:2: {pair}: "
                             f"deployment/{written} is not in the set (did you mean deployment/{meant}?)\n")
    (tmp_path / "gate.yaml").write_text("pairs:\n- from: deployment/elsewhere\n  to: api.shop:8080\n")
    assert CliRunner().invoke(main, ["lint", str(tmp_path)]).exit_code == 0  # may live in the cluster
