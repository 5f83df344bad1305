"""Issue 3's acceptance: `deploy-gate verify` against the real cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from gate.verify.probe import RUN_LABEL
from tests.cluster import config as harness
from tests.testing.e2e import (
    IMAGE,
    ROOT,
    E2ECluster,
    ExampleSite,
    apply_and_verify,
    deployment,
    gate,
    grant,
    kubeconfig_for,
    service,
    wait_for_rbac,
)
from tests.testing.git import EXAMPLES


@pytest.mark.timing
def test_incident_fails_fast_naming_label_workload_line_and_fix(cluster: E2ECluster, site: ExampleSite,
                                                                tmp_path: Path) -> None:
    cluster.kubectl("apply", "-f", str(site.examples / "incident-scenario-2" / "manifests"))
    junit = tmp_path / "r.xml"
    started = time.monotonic()
    result = site.gate("verify", "-f", "examples/incident-scenario-2/", "--junit", str(junit))
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed <= 15, f"took {elapsed:.1f} s; the evidence is definitive once the rollouts are done"
    first = result.stdout.splitlines()[0]
    assert "tier=backend" in first and "deployment/inference-api" in first
    assert first.startswith("examples/incident-scenario-2/manifests/service.yaml:7:1: error:")
    assert "examples/incident-scenario-2/manifests/inference-api.yaml:15" in result.stdout
    assert f"kubectl patch deployment inference-api -n {site.namespace}" in result.stdout
    failures = [case for case in ET.parse(junit).iter("testcase") if case.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failures] == [
        (f"{site.namespace}.Service", "inference-api has ready endpoints")]


@pytest.mark.timing
def test_fixed_example_passes_within_5_s_of_the_last_ready_pod(cluster: E2ECluster, site: ExampleSite,
                                                               tmp_path: Path) -> None:
    # Rollouts and endpoints only: the example's declared pairs add their probes' time (test_connectivity.py).
    no_pairs = tmp_path / "gate.yaml"
    no_pairs.write_text("rollout_timeout: 120\nendpoints_timeout: 60\n")
    cluster.kubectl("apply", "-f", str(site.examples / "incident-scenario-2-fixed" / "manifests"))
    result = site.gate("verify", "examples/incident-scenario-2-fixed/", "--config", str(no_pairs))
    finished = datetime.now().astimezone()
    assert result.returncode == 0, result.stdout + result.stderr
    pods = json.loads(cluster.kubectl("-n", site.namespace, "get", "pods", "-o", "json").stdout)["items"]
    last_ready = max(datetime.fromisoformat(c["lastTransitionTime"].replace("Z", "+00:00"))
                     for p in pods for c in p["status"]["conditions"] if c["type"] == "Ready")
    # lastTransitionTime has 1 s resolution; the verdict must follow within 5 s.
    assert (finished - last_ready).total_seconds() <= 6, (finished, last_ready)


@pytest.mark.timing
def test_missing_image_fails_before_the_deadline_with_the_reason(cluster: E2ECluster, namespace: str,
                                                                 tmp_path: Path) -> None:
    # pullPolicy Never: the image is absent and no registry is asked (this machine has none).
    objects = [deployment("ghost", image=f"{harness.IMAGE_REGISTRY}/does-not-exist:1", pull="Never")]
    result, elapsed = apply_and_verify(cluster, namespace, tmp_path, objects, "--rollout-timeout", "120")
    assert result.returncode == 1
    assert elapsed < 60
    assert "ErrImageNeverPull" in result.stdout and "deployment/ghost did not roll out" in result.stdout


@pytest.mark.timing
def test_fail_fast_ends_at_the_first_failure_and_reports_the_rest_as_not_decided(
        cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    """A Service nobody matches fails at once; a rollout that takes a minute is left undecided, not waited for,
    and the declared pair is not probed (so no probe pod is ever created)."""
    slow = deployment("slow")
    slow["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["true"]}, "initialDelaySeconds": 60, "periodSeconds": 1}
    objects = [slow, deployment("api"), service("api", {"app": "api", "tier": "backend"})]
    config = tmp_path / "gate.yaml"
    config.write_text("pairs:\n  - from: deployment/slow\n    to: api:80\n")
    junit = tmp_path / "r.xml"
    result, elapsed = apply_and_verify(cluster, namespace, tmp_path, objects, "--fail-fast", "--config", str(config),
                                       "--rollout-timeout", "120", "--junit", str(junit), "-o", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed < 40, f"took {elapsed:.1f} s: it waited for the slow rollout"
    available = cluster.kubectl("-n", namespace, "get", "deployment", "slow", "-o",
                                "jsonpath={.status.availableReplicas}").stdout
    assert available in ("", "0"), "the slow rollout finished first: this run proves nothing"
    findings = {(f["phase"], f["object"]["name"]): f for f in json.loads(result.stdout)["findings"]}
    assert findings[("endpoints", "api")]["outcome"] == "failed"
    assert "tier=backend" in findings[("endpoints", "api")]["message"]
    reason = "--fail-fast ended the run at the first failure (service/api)"
    undecided = findings[("rollouts", "slow")]
    assert undecided["outcome"] == "not-checkable"
    assert undecided["message"].startswith(f"not decided: {reason}; last seen: "), undecided["message"]
    pair = next(f for (phase, _), f in findings.items() if phase == "connectivity")
    assert (pair["outcome"], pair["message"]) == ("not-checkable", f"not probed: {reason}")
    cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
    assert cases["slow rolled out"].find("skipped") is not None
    assert cases["api has ready endpoints"].find("failure") is not None
    assert cluster.kubectl("-n", namespace, "get", "pods", "-l", RUN_LABEL, "-o", "name").stdout.strip() == ""


@pytest.mark.timing
def test_crash_loop_fails_with_the_reason(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    crasher = deployment("crasher", command=["sh", "-c", "echo boom; exit 3"])
    # A readiness probe that cannot pass before the crash: without one the kubelet may report the container Ready
    # for the instant before it sees it exit; the Deployment is Available then, and verify passes it, as
    # `kubectl rollout status` does (seen once, on an idle cluster).
    crasher["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 1}
    objects = [crasher]
    result, elapsed = apply_and_verify(cluster, namespace, tmp_path, objects, "--rollout-timeout", "120")
    assert result.returncode == 1 and elapsed < 60
    assert "CrashLoopBackOff" in result.stdout and "last exit code 3" in result.stdout


def test_failing_job_fails_and_completing_job_passes(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    def job(name: str, code: int) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                     "command": ["sh", "-c", f"exit {code}"]}]}}}}
    result, _ = apply_and_verify(cluster, namespace, tmp_path, [job("fails", 1), job("works", 0)],
                                 "--rollout-timeout", "120", "-o", "json")
    assert result.returncode == 1
    outcomes = {f["object"]["name"]: f for f in json.loads(result.stdout)["findings"]}
    assert outcomes["works"]["outcome"] == "passed"
    assert outcomes["fails"]["outcome"] == "failed" and "BackoffLimitExceeded" in outcomes["fails"]["message"]


def test_statefulset_daemonset_scaled_to_zero_and_manual_endpoints_pass(cluster: E2ECluster, namespace: str,
                                                                         tmp_path: Path) -> None:
    labels = {"app": "db"}
    statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                   "spec": {"serviceName": "db", "replicas": 2, "selector": {"matchLabels": labels},
                            "template": deployment("db")["spec"]["template"]}}
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}},
                          "template": deployment("agent")["spec"]["template"]}}
    idle = deployment("idle", replicas=0)
    manual_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": "external-1", "labels": {"kubernetes.io/service-name": "external"}},
                    "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
                    "endpoints": [{"addresses": ["10.244.0.250"]}]}
    objects = [statefulset, service("db", labels), daemonset, idle, service("idle", {"app": "idle"}),
               service("external", None), manual_slice]
    result, _ = apply_and_verify(cluster, namespace, tmp_path, objects, "--rollout-timeout", "120", "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    messages = {(f["phase"], f["object"]["name"]): f["message"] for f in json.loads(result.stdout)["findings"]}
    assert "scaled to zero" in messages[("endpoints", "idle")]
    assert "selector-less service" in messages[("endpoints", "external")]
    assert "Ready: 2/2" in messages[("rollouts", "db")]


def test_named_target_port_missing_fails_with_that_diagnosis(cluster: E2ECluster, namespace: str,
                                                             tmp_path: Path) -> None:
    web = deployment("web", ports=[{"name": "http", "containerPort": 8080}])
    result, elapsed = apply_and_verify(cluster, namespace, tmp_path, [web, service("web", {"app": "web"}, "web")],
                                       "--endpoints-timeout", "60")
    assert result.returncode == 1 and elapsed < 30
    assert "targetPort 'web' of port http (80/TCP) names no container port" in result.stdout


def test_documented_read_permissions_suffice_and_each_missing_one_is_named(cluster: E2ECluster, namespace: str,
                                                                            tmp_path: Path) -> None:
    documented = yaml.safe_load((EXAMPLES / "rbac" / "verify-reader.yaml").read_text())["rules"]
    cluster.kubectl("-n", namespace, "create", "serviceaccount", "gate")
    kubeconfig = kubeconfig_for(cluster, namespace, "gate", tmp_path / "sa.kubeconfig")
    web = deployment("web", ports=[{"name": "http", "containerPort": 8080}])
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(yaml.safe_dump_all([web, service("web", {"app": "web"})]))
    cluster.kubectl("-n", namespace, "apply", "-f", str(manifest))
    env = {**cluster.env(), "KUBECONFIG": str(kubeconfig)}

    grant(cluster, namespace, documented)
    result = gate(cluster, "verify", "-f", str(manifest), env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    endpointslices = [r for r in documented if "endpointslices" not in r["resources"]]
    grant(cluster, namespace, endpointslices)
    wait_for_rbac(cluster, f"system:serviceaccount:{namespace}:gate", "list", "endpointslices.discovery.k8s.io",
                  namespace, allowed=False)
    result = gate(cluster, "verify", "-f", str(manifest), env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"cannot list endpointslices.discovery.k8s.io in namespace {namespace}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    # Pods and their owners only explain a check that has not passed: a ready run never reads them, and
    # the first run that needs them names the missing permission.
    without_pods = [{**r, "resources": [x for x in r["resources"] if x != "pods"]} for r in documented]
    grant(cluster, namespace, without_pods)
    wait_for_rbac(cluster, f"system:serviceaccount:{namespace}:gate", "list", "pods", namespace, allowed=False)
    wait_for_rbac(cluster, f"system:serviceaccount:{namespace}:gate", "list", "endpointslices.discovery.k8s.io",
                  namespace, allowed=True)
    result = gate(cluster, "verify", "-f", str(manifest), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lonely = tmp_path / "lonely.yaml"
    lonely.write_text(yaml.safe_dump(service("lonely", {"app": "nobody"})))
    cluster.kubectl("-n", namespace, "apply", "-f", str(lonely))
    result = gate(cluster, "verify", "-f", str(lonely), env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"cannot list pods in namespace {namespace}" in result.stderr


def test_unreachable_cluster_is_exit_3_one_line(cluster: E2ECluster, tmp_path: Path) -> None:
    broken = yaml.safe_load(cluster.kubeconfig.read_text())
    broken["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "broken.kubeconfig"
    path.write_text(yaml.safe_dump(broken))
    result = gate(cluster, "verify", "examples/incident-scenario-2-fixed/", "--kubeconfig", str(path))
    assert result.returncode == 3
    assert "cannot reach the API server at https://127.0.0.1:1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_touched_set_from_kubectl_apply_output(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(yaml.safe_dump_all([deployment("web", ports=[{"name": "http", "containerPort": 8080}]),
                                            service("web", {"app": "web"}, "http")]))
    applied = cluster.kubectl("-n", namespace, "apply", "-f", str(manifest), "-o", "name").stdout
    result = subprocess.run([sys.executable, "-m", "gate", "verify", "--from-apply-output", "-", "-n", namespace,
                             "-o", "json"], input=applied, capture_output=True, text=True, cwd=ROOT,
                            env=cluster.env(), timeout=200)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {(f["phase"], f["object"]["kind"], f["object"]["name"]) for f in json.loads(result.stdout)["findings"]}
    assert checks == {("rollouts", "Deployment", "web"), ("endpoints", "Service", "web")}
