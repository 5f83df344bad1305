"""Faults injected into the real cluster while verify waits: never a verdict from stale state.

The API server is killed (SIGKILL) and started again by the harness; only the harness's own cluster
can be faulted, so these tests skip against a cluster given by KUBECONFIG.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import E2ECluster, wait_for
from tests.e2e.helpers import deployment, gate, service

# Ready 15 s after it starts: its readiness passes while the API server is down, and the kubelet can
# only report it once the server is back.
SLOW = ["sh", "-c", "trap 'exit 0' TERM; sleep 15; touch /tmp/ready; mkdir -p /www; echo ok > /www/index.html; "
                    "httpd -f -p 8080 -h /www & wait"]


@pytest.fixture
def harness(cluster: E2ECluster) -> Iterator[E2ECluster]:
    if cluster.harness is None:
        pytest.skip("faults are injected only into the harness's own cluster (KUBECONFIG names another)")
    yield cluster
    cluster.harness.restart("kube-apiserver")  # whatever the test did, the server serves again


def _slow_service(namespace: str, tmp_path: Path, endpoints_timeout: int) -> Path:
    web = deployment("slow", command=SLOW, ports=[{"name": "http", "containerPort": 8080}])
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1}
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "set.yaml").write_text(yaml.safe_dump_all([web, service("slow", {"app": "slow"})]))
    (directory / "gate.yaml").write_text(f"endpoints_timeout: {endpoints_timeout}s\nrollout_timeout: 120s\n")
    return directory


def _outage(cluster: E2ECluster, start_after: float, seconds: float) -> threading.Thread:
    def run() -> None:
        time.sleep(start_after)
        assert cluster.harness is not None
        cluster.harness.kill("kube-apiserver")
        time.sleep(seconds)
        cluster.harness.restart("kube-apiserver")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_an_outage_across_the_deadline_ends_in_a_verdict_on_fresh_state(harness: E2ECluster, namespace: str,
                                                                         tmp_path: Path) -> None:
    directory = _slow_service(namespace, tmp_path, endpoints_timeout=25)
    harness.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    outage = _outage(harness, start_after=3, seconds=24)  # down from ~3 s to ~27 s (+ its start), past 25 s
    result = gate(harness, "verify", "-f", str(directory), "-n", namespace, "-o", "json")
    outage.join(timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    endpoints = next(f for f in report["findings"] if f["rule"] == "endpoints")
    assert endpoints["outcome"] == "passed"
    assert any("decided after an API server outage: the API server was unreachable for" in line
               for line in endpoints["evidence"])


def test_an_outage_past_the_grace_is_exit_3_saying_so(harness: E2ECluster, namespace: str, tmp_path: Path) -> None:
    directory = _slow_service(namespace, tmp_path, endpoints_timeout=20)
    harness.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    outage = _outage(harness, start_after=3, seconds=40)  # still down at 20 s + 10 s of grace
    result = gate(harness, "verify", "-f", str(directory), "-n", namespace)
    outage.join(timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "could not verify: the API server was unreachable for" in result.stderr
    assert "of the 20 s window" in result.stderr and "last known state:" in result.stderr
    wait_for("the API server", lambda: harness.kubectl("get", "--raw", "/readyz", check=False).stdout == "ok",
             timeout=60)
