"""lint, explain and verify's static part give a pair one verdict (gate.pairs.judge), word for word.

The incident: service/inference-api selects tier=backend, which its pods lack. lint used to say the gateway's
pair was "allowed as expected" while explain said it cannot connect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.config import load_config
from gate.findings import Outcome, Severity
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from gate.verify.connectivity import judge_pairs

INCIDENT = Path(__file__).parents[2] / "examples" / "incident-scenario-2"
GATEWAY_PAIR = "deployment/api-gateway -> inference-api:8080 allow"
FRONTEND_PAIR = "deployment/web-frontend -> inference-api:8080 deny"
NO_ENDPOINTS = ("cannot connect: service/inference-api has no endpoints (pods of deployment/inference-api lack "
                "tier=backend); the cause is its selector, reported on the Service; policies would allow "
                "deployment/inference-api port 8080/TCP, which it was meant to select (allowed: egress: no "
                "NetworkPolicy isolates the caller; ingress: admitted by inference-api-netpol ingress rule 1)")


def manifests_inventory() -> Inventory:
    return Inventory.from_manifests(load([str(INCIDENT / "manifests")]).manifests)


def live_like_inventory() -> Inventory:
    """As verify's live_inventory builds it: plain objects, no manifest positions."""
    objects: list[dict[str, Any]] = [m.obj for m in load([str(INCIDENT / "manifests")]).manifests]
    return Inventory(objects, "default")


def test_lint_says_the_gateway_cannot_connect_and_points_at_the_selector_as_a_warning() -> None:
    findings = {f.subject.name: f for f in lint(manifests_inventory(), load_config(INCIDENT / "gate.yaml"))
                if f.rule == "caller-pair"}
    gateway = findings[GATEWAY_PAIR]
    assert gateway.message == f"{GATEWAY_PAIR}: {NO_ENDPOINTS}"
    # A failure of the pair, one cause one error: the selector's error is service-selector's, with the fix.
    assert (gateway.outcome, gateway.severity, gateway.fix) == (Outcome.FAILED, Severity.WARNING, ())
    assert [str(loc).rsplit("/", 1)[-1] for loc in gateway.locations] == ["gate.yaml:13", "service.yaml:7"]
    frontend = findings[FRONTEND_PAIR]
    assert frontend.outcome is Outcome.PASSED  # its policies keep it out once the selector is fixed
    assert frontend.message.startswith(f"{FRONTEND_PAIR}: cannot connect: service/inference-api has no endpoints "
                                       "(pods of deployment/inference-api lack tier=backend)")


def test_lint_explain_and_a_static_verify_agree_word_for_word() -> None:
    config = load_config(INCIDENT / "gate.yaml")
    [linted] = [f for f in lint(manifests_inventory(), config) if f.subject.name == GATEWAY_PAIR]
    result = CliRunner().invoke(main, ["explain", "--from", "video-analytics/api-gateway", "--to",
                                       "inference-api.video-analytics:8080", "-f", str(INCIDENT / "manifests")])
    explained = result.output.splitlines()[0]
    settled, to_probe = judge_pairs(config, live_like_inventory(), None)
    assert not settled
    verified = to_probe[GATEWAY_PAIR][1]
    assert linted.message == f"{GATEWAY_PAIR}: {NO_ENDPOINTS}"
    assert explained == (f"DENY  deployment/api-gateway (video-analytics) -> inference-api.video-analytics:8080: "
                         f"{NO_ENDPOINTS}")
    assert result.exit_code == 1
    assert verified.message == NO_ENDPOINTS and verified.connects is False


def test_verify_does_not_probe_a_pair_whose_service_failed_its_endpoints_check_and_says_the_same() -> None:
    settled, to_probe = judge_pairs(load_config(INCIDENT / "gate.yaml"), live_like_inventory(), None,
                                    frozenset({("video-analytics", "inference-api")}))
    assert not to_probe
    gateway = settled[GATEWAY_PAIR]
    assert gateway.outcome is Outcome.NOT_CHECKABLE
    assert gateway.message == ("not probed: service/inference-api has no ready endpoints (its endpoints check "
                               f"failed); static verdict: {NO_ENDPOINTS}")


def write(tmp_path: Path, objects: list[dict[str, Any]], pairs: str) -> tuple[Path, Path]:
    manifests, config = tmp_path / "m.yaml", tmp_path / "gate.yaml"
    manifests.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    config.write_text(pairs)
    return manifests, config


def app(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}}}}


def test_a_service_no_template_matches_reads_the_same_and_is_not_checkable_in_lint(tmp_path: Path) -> None:
    """No workload of the set was evidently meant for the selector: its pods may be deployed from elsewhere."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"selector": {"app": "elsewhere"}, "ports": [{"port": 80}]}}
    manifests, config = write(tmp_path, [app("web", {"app": "web"}), service],
                              "pairs:\n- from: shop/deployment/web\n  to: api:80\n")
    message = ("cannot connect: service/api has no endpoints (its selector app=elsewhere matches no pod template in "
               "the set)")
    [finding] = [f for f in lint(Inventory.from_manifests(load([str(manifests)]).manifests), load_config(config))
                 if f.rule == "caller-pair"]
    assert (finding.outcome, finding.message) == (Outcome.NOT_CHECKABLE, f"deployment/web -> api:80 allow: {message}")
    result = CliRunner().invoke(main, ["explain", "--from", "shop/web", "--to", "shop/api:80", "-f", str(manifests)])
    assert (result.exit_code, result.output) == (1, f"DENY  deployment/web (shop) -> api.shop:80: {message}\n")
