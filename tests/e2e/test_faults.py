"""Faults injected into the real cluster while verify waits: never a verdict from stale state.

The API server and the controller manager are killed (SIGKILL) and started again by the harness, verify
gets SIGTERM mid-rollout and mid-probe, twenty verifies run at once. Only the harness's own cluster can be
faulted, so these tests skip against a cluster given by KUBECONFIG.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cluster import processes
from tests.testing.e2e import (
    ROOT,
    E2ECluster,
    ExampleSite,
    apply_example,
    deployment,
    gate,
    grant,
    kubeconfig_for,
    service,
    wait_for,
)

# Ready 15 s after it starts: its readiness passes while the API server is down, and the kubelet can
# only report it once the server is back.
SLOW = ["sh", "-c", "trap 'exit 0' TERM; sleep 15; touch /tmp/ready; mkdir -p /www; echo ok > /www/index.html; "
                    "httpd -f -p 8080 -h /www & wait"]


SLOW_FREE = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo ok > /www/index.html; "
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


@pytest.mark.disruptive
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


@pytest.mark.disruptive
def test_an_outage_past_the_grace_is_exit_3_saying_so(harness: E2ECluster, namespace: str, tmp_path: Path) -> None:
    directory = _slow_service(namespace, tmp_path, endpoints_timeout=20)
    harness.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    outage = _outage(harness, start_after=3, seconds=40)  # still down at the endpoints deadline (20 s) + 10 s
    result = gate(harness, "verify", "-f", str(directory), "-n", namespace)
    outage.join(timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "could not verify: the API server was unreachable for" in result.stderr
    assert "of the 20 s window" in result.stderr and "last known state:" in result.stderr
    wait_for("the API server", lambda: harness.kubectl("get", "--raw", "/readyz", check=False).stdout == "ok",
             timeout=60)


def _never_ready(namespace: str, tmp_path: Path) -> Path:
    web = deployment("stuck", ports=[{"name": "http", "containerPort": 8080}])
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["false"]}, "periodSeconds": 1}
    path = tmp_path / "stuck.yaml"
    path.write_text(yaml.safe_dump_all([web, service("stuck", {"app": "stuck"})]))
    return path


@pytest.mark.timing
@pytest.mark.parametrize("sent_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_rollouts_is_exit_130_with_a_report(harness: E2ECluster, namespace: str, tmp_path: Path,
                                                                 sent_signal: signal.Signals) -> None:
    manifest = _never_ready(namespace, tmp_path)
    harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
    junit = tmp_path / "junit.xml"
    # Started as a non-interactive shell starts a background command (`deploy-gate ... &`): with SIGINT ignored,
    # which must not keep a cancelled pipeline's SIGINT from interrupting it.
    ignoring_sigint = ["sh", "-c", "trap '' INT; exec \"$@\"", "sh"]
    process = subprocess.Popen([*ignoring_sigint, sys.executable, "-m", "gate", "verify", "-f", str(manifest),
                                "-n", namespace, "--junit", str(junit)], cwd=ROOT, env=harness.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    sent = time.monotonic()
    process.send_signal(sent_signal)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - sent <= 5
    assert "deploy-gate: interrupted" in stderr
    [case] = ET.parse(junit).getroot().iter("testcase")
    assert case.find("error") is not None and "interrupted" in (case.find("error").get("message") or "")


@pytest.mark.timing
def test_sigterm_during_the_probes_deletes_the_probe_pods(site: ExampleSite) -> None:
    apply_example(site, "incident-scenario-2-fixed")
    fixed = site.examples / "incident-scenario-2-fixed"
    process = subprocess.Popen([sys.executable, "-m", "gate", "verify", str(fixed)], cwd=ROOT, env=site.cluster.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for("probe pods", lambda: bool(site.probe_pods()), timeout=90, interval=0.2)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 130
    wait_for("probe pods deleted", lambda: not [p for p in site.probe_pods() if _not_terminating(site, p)],
             timeout=5 - (time.monotonic() - sent) + 0.5, interval=0.2)


def _not_terminating(site: ExampleSite, pod: str) -> bool:
    found = site.kubectl("get", pod, "-o", "jsonpath={.metadata.deletionTimestamp}", check=False)
    return found.returncode == 0 and not found.stdout.strip()


@pytest.mark.disruptive
def test_controller_manager_stopped_past_the_deadline_says_the_status_is_stale(harness: E2ECluster, namespace: str,
                                                                                tmp_path: Path) -> None:
    assert harness.harness is not None
    harness.harness.kill("kube-controller-manager")
    try:
        web = deployment("orphan")
        manifest = tmp_path / "orphan.yaml"
        manifest.write_text(yaml.safe_dump(web))
        harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "15")
    finally:
        harness.harness.restart("kube-controller-manager")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("deployment/orphan did not roll out: timed out: controller has not observed generation 1 yet (no "
            "status); its status is stale") in result.stdout


@pytest.mark.disruptive
def test_controller_manager_stopped_briefly_is_no_failure(harness: E2ECluster, namespace: str,
                                                          tmp_path: Path) -> None:
    assert harness.harness is not None
    manifest = tmp_path / "web.yaml"
    manifest.write_text(yaml.safe_dump(deployment("web", replicas=2)))
    harness.harness.kill("kube-controller-manager")
    stopped = threading.Timer(20, harness.harness.restart, ("kube-controller-manager",))
    stopped.start()
    try:
        harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "90")
    finally:
        stopped.join()
        harness.harness.restart("kube-controller-manager")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.disruptive
def test_twenty_verifies_at_once(harness: E2ECluster, namespace: str, tmp_path: Path) -> None:
    """A monorepo pipeline gating 20 services at once: every verdict right, requests per process unchanged."""
    objects = [o for i in range(20) for o in (deployment(f"svc-{i}", ports=[{"name": "http", "containerPort": 8080}],
                                                         command=SLOW_FREE),
                                              service(f"svc-{i}", {"app": f"svc-{i}"}))]
    harness.kubectl("-n", namespace, "apply", "-f", "-", input_text=yaml.safe_dump_all(objects))
    env = {**harness.env(), "DEPLOY_GATE_TRACE": "1"}
    paths = []
    for i in range(20):
        path = tmp_path / f"svc-{i}.yaml"
        path.write_text(yaml.safe_dump_all(objects[2 * i:2 * i + 2]))
        paths.append(path)
    processes = [subprocess.Popen([sys.executable, "-m", "gate", "verify", "-f", str(p), "-n", namespace], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in paths]
    results = [(p.wait(timeout=300), p.communicate()) for p in processes]
    assert [code for code, _ in results] == [0] * 20, [out for code, out in results if code]
    requests = {int(match) for _, (_, err) in results for match in re.findall(r"trace: requests=(\d+)", err)}
    # Alone, the two runs a process can be: one whose first lists pass (it reads no pod), and one whose rollout has
    # not passed yet (it lists and watches pods and owners as well to explain it).
    passing = gate(harness, "verify", "-f", str(paths[0]), "-n", namespace, env=env)
    stuck = _never_ready(namespace, tmp_path)
    harness.kubectl("-n", namespace, "apply", "-f", str(stuck))
    explaining = gate(harness, "verify", "-f", str(stuck), "-n", namespace, "--rollout-timeout", "5",
                      "--endpoints-timeout", "5", env=env)
    assert explaining.returncode == 1, explaining.stdout + explaining.stderr
    [by_itself] = map(int, re.findall(r"trace: requests=(\d+)", passing.stderr))
    [explaining_alone] = map(int, re.findall(r"trace: requests=(\d+)", explaining.stderr))
    assert by_itself < explaining_alone
    # One list+watch per kind whatever else runs: the count does not grow with the neighbours (a watch that
    # happens to finish its first stream early may add one renewal).
    assert max(requests) <= explaining_alone + 1, (requests, by_itself, explaining_alone)
    # Every watcher, waiting or streaming, had ended when the verdict was out (see end_watchers).
    running = [re.findall(r"trace: .* running=(\d+)", err) for err in
               [err for _, (_, err) in results] + [passing.stderr, explaining.stderr]]
    assert running == [["0"]] * 22, running


def test_rbac_revoked_while_watching_is_exit_3_naming_the_permission(harness: E2ECluster, namespace: str,
                                                                     tmp_path: Path) -> None:
    documented = yaml.safe_load((ROOT / "examples" / "rbac" / "verify-reader.yaml").read_text())["rules"]
    harness.kubectl("-n", namespace, "create", "serviceaccount", "gate")
    grant(harness, namespace, documented)
    kubeconfig = kubeconfig_for(harness, namespace, "gate", tmp_path / "sa.kubeconfig")
    manifest = _never_ready(namespace, tmp_path)
    harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
    revoke = threading.Timer(5, harness.kubectl, ("-n", namespace, "delete", "rolebinding", "gate"))
    revoke.start()
    started = time.monotonic()
    result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "300",
                  "--endpoints-timeout", "300",
                  env={**harness.env(), "KUBECONFIG": str(kubeconfig), "DEPLOY_GATE_TRACE": "1"})
    revoke.join()
    assert result.returncode == 3, result.stdout + result.stderr
    # The other watchers, refused at their renewals or still streaming, had ended before the process exited: one
    # still in OpenSSL then aborted it ("double free or corruption", exit -6) after the error line below.
    assert re.findall(r"trace: .* running=(\d+)", result.stderr) == ["0"], result.stderr
    # An open watch outlives the revocation; the next request (the watch's renewal, within a minute) is refused.
    assert time.monotonic() - started < 120
    line = result.stderr.strip().splitlines()[-1]  # after the progress lines, the one error line
    assert re.match(rf"deploy-gate: error: forbidden: cannot (watch|list) \S+ in namespace {namespace}", line), line


@pytest.mark.disruptive
def test_a_watch_ending_410_gone_relists_and_the_verdict_is_right(harness: E2ECluster, namespace: str,
                                                                  tmp_path: Path) -> None:
    """No watch cache and a 10 s etcd compaction: a watch resumed after its 60 s stream asks for a compacted
    resourceVersion, and the real API server answers 410 Gone."""
    assert harness.harness is not None
    harness.harness.kill("kube-apiserver")
    harness.harness.restart("kube-apiserver", "--watch-cache=false", "--etcd-compaction-interval=10s")
    try:
        late = ["sh", "-c", "trap 'exit 0' TERM; sleep 80; mkdir -p /www; echo ok > /www/index.html; "
                            "httpd -f -p 8080 -h /www & wait"]
        web = deployment("late", command=late, ports=[{"name": "http", "containerPort": 8080}])
        web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
            "tcpSocket": {"port": 8080}, "periodSeconds": 1}
        manifest = tmp_path / "late.yaml"
        manifest.write_text(yaml.safe_dump_all([web, service("late", {"app": "late"})]))
        harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--endpoints-timeout", "150",
                      "--rollout-timeout", "150", env={**harness.env(), "DEPLOY_GATE_TRACE": "1"})
    finally:
        harness.harness.kill("kube-apiserver")
        harness.harness.restart("kube-apiserver")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "410 Gone, relisting" in result.stderr


@pytest.mark.disruptive
def test_kubelet_stopped_mid_wait_fails_at_the_deadline_on_what_the_api_server_holds(
        harness: E2ECluster, namespace: str, tmp_path: Path) -> None:
    """The node still looks Ready for ~40 s: its new pod is scheduled, and nothing runs it."""
    assert harness.harness is not None
    manifest = tmp_path / "nodeless.yaml"
    manifest.write_text(yaml.safe_dump(deployment("nodeless")))
    harness.harness.kill("kubelet")
    try:
        harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "20")
    finally:
        harness.harness.restart("kubelet")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deployment/nodeless did not roll out: timed out: Ready: 0/1" in result.stdout


@contextlib.contextmanager
def _etcd_frozen(harness: E2ECluster, start_after: float, seconds: float) -> Iterator[None]:
    """SIGSTOP the harness's etcd `start_after` seconds from now, SIGCONT it `seconds` later (or when the block
    ends, whichever is first). The API server stays up, its watches open and silent: only storage is gone."""
    pid = processes.running_pid("etcd")
    assert pid is not None, "the harness's etcd does not run"
    released = threading.Event()

    def freeze() -> None:
        if released.wait(start_after):
            return
        os.kill(pid, signal.SIGSTOP)
        released.wait(seconds)
        os.kill(pid, signal.SIGCONT)

    thread = threading.Thread(target=freeze, daemon=True)
    thread.start()
    try:
        yield
    finally:
        released.set()
        thread.join()
        os.kill(pid, signal.SIGCONT)
        wait_for("the API server", lambda: harness.kubectl("get", "--raw", "/readyz", check=False).stdout == "ok",
                 timeout=60)


def _stuck(namespace: str, tmp_path: Path) -> Path:
    """A Deployment whose pod never turns Ready: its rollout fails at the deadline, whatever else happens."""
    stuck = deployment("stuck")
    stuck["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["false"]}, "periodSeconds": 1}
    path = tmp_path / "stuck.yaml"
    path.write_text(yaml.safe_dump(stuck))
    return path


@pytest.mark.disruptive
def test_etcd_frozen_across_the_deadline_is_exit_3_not_a_failed_rollout(harness: E2ECluster, namespace: str,
                                                                        tmp_path: Path) -> None:
    """The snapshot at the deadline is the state of second 2: judging it would blame the deploy for the outage."""
    manifest = _stuck(namespace, tmp_path)
    harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
    with _etcd_frozen(harness, start_after=2, seconds=60):
        started = time.monotonic()
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "15")
        seconds = time.monotonic() - started
    assert result.returncode == 3, result.stdout + result.stderr
    assert "deploy-gate: error: could not verify: the API server's storage is unavailable (" in result.stderr
    assert "did not roll out" not in result.stdout
    assert seconds <= 15 + 5 + 3, seconds  # the deadline, the storage check's 5 s, the process's start


@pytest.mark.disruptive
def test_etcd_frozen_briefly_before_the_deadline_leaves_the_right_verdict(harness: E2ECluster, namespace: str,
                                                                          tmp_path: Path) -> None:
    manifest = _stuck(namespace, tmp_path)
    harness.kubectl("-n", namespace, "apply", "-f", str(manifest))
    with _etcd_frozen(harness, start_after=2, seconds=6):
        result = gate(harness, "verify", "-f", str(manifest), "-n", namespace, "--rollout-timeout", "20")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deployment/stuck did not roll out: timed out: Ready: 0/1" in result.stdout
