"""Issue 4's acceptance: declared caller pairs probed for real and explained by the evaluator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster import config as harness
from tests.testing.e2e import ADMIT_FRONTEND, ExampleSite, apply_example, wait_for
from tests.testing.git import ROOT

FIXED = "examples/incident-scenario-2-fixed/"
ONLY_FRONTEND = ('[{"op":"replace","path":"/spec/ingress/0/from",'
                 '"value":[{"podSelector":{"matchLabels":{"app":"web-frontend"}}}]}]')


@pytest.fixture
def fixed(site: ExampleSite) -> ExampleSite:
    apply_example(site, "incident-scenario-2-fixed")
    return site


def pairs(result: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    document = json.loads(result.stdout)
    return {f["check"].split(" ")[0]: f for f in document["findings"] if f["phase"] == "connectivity"}


def test_declared_pairs_pass_on_the_fixed_example(fixed: ExampleSite) -> None:
    result = fixed.gate("verify", FIXED, "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    found = pairs(result)
    assert found["deployment/api-gateway"]["outcome"] == "passed"
    assert "success: HTTP/1.1 200" in found["deployment/api-gateway"]["message"]
    deny = found["deployment/web-frontend"]
    assert deny["outcome"] == "passed"
    assert "inference-api-netpol" in deny["message"] and "app=api-gateway" in deny["message"]
    assert "live: refused" in deny["message"] or "live: timeout" in deny["message"]
    assert fixed.probe_pods() == []


def test_admitting_the_frontend_flips_its_verdict(fixed: ExampleSite) -> None:
    fixed.kubectl("patch", "networkpolicy", "inference-api-netpol", "--type=json",
                          "-p", ADMIT_FRONTEND)
    result = fixed.gate("verify", FIXED, "-o", "json")
    assert result.returncode == 1
    found = pairs(result)
    assert found["deployment/api-gateway"]["outcome"] == "passed"
    deny = found["deployment/web-frontend"]
    assert deny["outcome"] == "failed"
    assert "must not reach inference-api:8080 but did" in deny["message"]
    assert "admitted by inference-api-netpol ingress rule 1" in deny["message"]
    assert deny["fix"] == ["remove the peer admitting deployment/web-frontend from inference-api-netpol"]
    assert fixed.probe_pods() == []


def test_policy_admitting_only_the_frontend_blocks_the_gateway_with_a_patch(fixed: ExampleSite) -> None:
    fixed.kubectl("patch", "networkpolicy", "inference-api-netpol", "--type=json",
                          "-p", ONLY_FRONTEND)
    result = fixed.gate("verify", FIXED, "-o", "json")
    assert result.returncode == 1
    allow = pairs(result)["deployment/api-gateway"]
    assert allow["outcome"] == "failed"
    assert "cannot reach inference-api:8080: blocked" in allow["message"]
    assert "inference-api-netpol selects pods app=inference-api" in allow["message"]
    assert "admits pods app=web-frontend" in allow["message"] and "caller has app=api-gateway" in allow["message"]
    assert allow["fix"][0].startswith(f"kubectl patch networkpolicy inference-api-netpol -n {fixed.namespace}")
    # The suggested patch, applied, makes the pair pass.
    patch = allow["fix"][0].split("-p=", 1)[1].strip("'")
    fixed.kubectl("patch", "networkpolicy", "inference-api-netpol", "--type=json",
                          "-p", patch)
    assert pairs(fixed.gate("verify", FIXED, "-o", "json"))["deployment/api-gateway"]["outcome"] == "passed"


def test_sigterm_mid_probe_leaves_no_probe_pod(fixed: ExampleSite, tmp_path: Path) -> None:
    # A long per-pair timeout keeps the denied probe retrying while we signal.
    config = tmp_path / "gate.yaml"
    config.write_text((fixed.root / FIXED / "gate.yaml").read_text().replace("timeout: 20", "timeout: 120")
                      + "    timeout: 120\n")
    process = subprocess.Popen([sys.executable, "-m", "gate", "verify", str(fixed.root / FIXED), "--config",
                                str(config)], cwd=ROOT, env=fixed.cluster.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for("a probe pod", lambda: bool(fixed.probe_pods()), 60, 0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and "interrupted" in stderr
    assert "Traceback" not in stderr
    assert fixed.probe_pods() == []


def test_stale_probe_pods_of_earlier_runs_are_removed(fixed: ExampleSite) -> None:
    stale = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "deploy-gate-probe-stale", "namespace": fixed.namespace,
        "labels": {"deploy-gate.io/probe": "true", "deploy-gate.io/run": "earlier"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "probe", "image": harness.BUSYBOX_IMAGE,
                                                           "imagePullPolicy": "IfNotPresent",
                                                           "command": ["true"]}]}}
    fixed.cluster.kubectl("apply", "-f", "-", input_text=json.dumps(stale))
    wait_for("the stale pod to finish", lambda: fixed.kubectl(
        "get", "pod", "deploy-gate-probe-stale", "-o", "jsonpath={.status.phase}").stdout == "Succeeded", 60)
    assert fixed.gate("verify", FIXED).returncode == 0
    wait_for("no probe pods", lambda: fixed.probe_pods() == [], 30)


def test_exec_mode_probes_from_inside_the_caller(fixed: ExampleSite, tmp_path: Path) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text((fixed.root / FIXED / "gate.yaml").read_text().replace("  timeout: 20",
                                                                          "  timeout: 20\n  mode: exec"))
    result = fixed.gate("verify", FIXED, "--config", str(config), "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fixed.probe_pods() == []


def test_explain_offline_and_live(fixed: ExampleSite) -> None:
    args = ["--from", f"{fixed.namespace}/web-frontend", "--to", f"{fixed.namespace}/inference-api:8080"]
    offline = fixed.gate("explain", *args, "-f", FIXED + "manifests", "-o", "json")
    live = fixed.gate("explain", *args, "--live", "-o", "json")
    for result in (offline, live):
        assert result.returncode == 1, result.stderr
        [backend] = json.loads(result.stdout)["backends"]
        assert "admits pods app=api-gateway" in backend["summary"]
    allowed = fixed.gate("explain", "--from", f"{fixed.namespace}/api-gateway", "--to",
                   f"{fixed.namespace}/inference-api:8080", "--live")
    assert allowed.returncode == 0 and allowed.stdout.startswith("ALLOW")
    started = time.monotonic()
    assert fixed.gate("explain", *args, "-f", FIXED + "manifests").returncode == 1
    assert time.monotonic() - started < 10


@pytest.mark.disruptive
def test_a_network_plugin_that_ignores_policies_is_named_not_the_policy(fixed: ExampleSite) -> None:
    """Without an enforcer, web-frontend reaches inference-api although inference-api-netpol denies it:
    the finding says the plugin does not enforce NetworkPolicy, and blames no policy."""
    if fixed.cluster.harness is None:
        pytest.skip("the enforcer can be switched off only on the harness's own cluster")
    fixed.cluster.harness.disable_netpol()
    try:
        result = fixed.gate("verify", FIXED, "-o", "json")
    finally:
        fixed.cluster.harness.enable_netpol()
    assert result.returncode == 1, result.stdout + result.stderr
    pairs = {f["check"]: f for f in json.loads(result.stdout)["findings"] if f["phase"] == "connectivity"}
    denied = next(f for title, f in pairs.items() if "web-frontend" in title)
    assert denied["outcome"] == "failed" and denied["fix"] == []
    assert denied["message"].startswith("policy says deny but traffic passed: the network plugin is not enforcing "
                                        "NetworkPolicy")
    allowed = next(f for title, f in pairs.items() if "api-gateway" in title)
    assert allowed["outcome"] == "passed"
