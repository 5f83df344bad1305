"""Probe pods are least-privileged and never Ready; the script's verdicts; live + static combined."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

import pytest

from gate.config import Caller, Pair, Target
from gate.findings import Outcome, Severity
from gate.location import Location
from gate.netpol import Connection, PodSide, Policy, evaluate
from gate.pairs import combine
from gate.verify.probe import SCRIPT, ProbeTarget, _environment, parse_result, probe_pod

TARGET = ProbeTarget("pair", "shop", {"app": "web", "pod-template-hash": "abc"}, "api.shop.svc", 8080, "/health", 20)


def test_probe_pod_is_least_privileged_never_ready_and_carries_the_callers_identity() -> None:
    pod = probe_pod(TARGET, "busybox:1.36", "run1")
    labels = pod["metadata"]["labels"]
    assert labels == {"app": "web", "deploy-gate.io/probe": "true", "deploy-gate.io/run": "run1"}
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 80
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = spec["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["readinessProbe"]["exec"]["command"] == ["false"]
    assert container["resources"]["limits"] == {"cpu": "100m", "memory": "32Mi"}


@pytest.mark.parametrize(("message", "kind", "attempts"), [
    ("2|success|HTTP/1.1 200 OK", "success", 2),
    ("5|refused|nc: can't connect to remote host (10.96.0.5): Connection refused", "refused", 5),
    ("3|timeout|no answer within 3s (results disagreed)", "timeout", 3),
    ("garbage", "error", 0),
    ("²|success|forged", "error", 0),
])
def test_parse_result(message: str, kind: str, attempts: int) -> None:
    result = parse_result(message)
    assert (result.kind, result.attempts) == (kind, attempts)


BUSYBOX = Path("/bin/busybox")


def _serve_once_http(server: socket.socket, status: str) -> None:
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.recv(1024)
            connection.sendall(f"HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok".encode())


@pytest.mark.skipif(not BUSYBOX.exists(), reason="the probe script is written for busybox sh and nc")
@pytest.mark.parametrize(("status", "kind"), [("200 OK", "success"), ("503 Service Unavailable", "http-error")])
def test_probe_script_against_a_local_server(status: str, kind: str) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    thread = threading.Thread(target=_serve_once_http, args=(server, status), daemon=True)
    thread.start()
    target = ProbeTarget("p", "ns", {}, "127.0.0.1", server.getsockname()[1], "/health", 6)
    env = {**_environment(target), "SETTLE": "0", "HOLD": "1", "PATH": "/usr/bin:/bin"}
    output = subprocess.run([str(BUSYBOX), "sh", "-c", SCRIPT], env=env, capture_output=True, text=True,
                            timeout=30).stdout
    server.close()
    result = parse_result(output.strip().splitlines()[-1].removeprefix("RESULT "))
    assert result.kind == kind, output


@pytest.mark.skipif(not BUSYBOX.exists(), reason="the probe script is written for busybox sh and nc")
def test_probe_script_reports_refused_and_dns_failure() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    for host, kind in (("127.0.0.1", "refused"), ("no-such-host.invalid", "dns-failure")):
        target = ProbeTarget("p", "ns", {}, host, port, None, 6)
        env = {**_environment(target), "SETTLE": "0", "HOLD": "1", "PATH": "/usr/bin:/bin"}
        output = subprocess.run([str(BUSYBOX), "sh", "-c", SCRIPT], env=env, capture_output=True, text=True,
                                timeout=30).stdout
        assert parse_result(output.strip().splitlines()[-1].removeprefix("RESULT ")).kind == kind, output


API = PodSide("shop", {"app": "api"}, ports=())
WEB = PodSide("shop", {"app": "web"})
DENY_WEB = Policy.from_object({"metadata": {"name": "api-netpol", "namespace": "shop"}, "spec": {
    "podSelector": {"matchLabels": {"app": "api"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "gateway"}}}]}]}})
DENIED = evaluate([DENY_WEB], Connection(WEB, API, 8080))
ALLOWED = evaluate([], Connection(WEB, API, 8080))


def pair(allow: bool) -> Pair:
    return Pair(Caller("shop", ("Deployment", "web")), Target("api", None, 8080), allow, None, None,
                Location("gate.yaml", 3))


PASSED, FAILED, ERROR, WARNING = Outcome.PASSED, Outcome.FAILED, Severity.ERROR, Severity.WARNING


@pytest.mark.parametrize(("allow", "verdict", "connected", "outcome", "severity", "words"), [
    (True, ALLOWED, True, PASSED, ERROR, "reached"),
    (True, DENIED, False, FAILED, ERROR, "blocked"),
    (True, ALLOWED, False, FAILED, ERROR, "not a policy problem"),
    (True, DENIED, True, FAILED, WARNING, "network plugin is not enforcing NetworkPolicy"),
    (False, DENIED, False, PASSED, ERROR, "kept from"),
    (False, ALLOWED, False, PASSED, ERROR, "no NetworkPolicy denies it"),
    (False, ALLOWED, True, FAILED, ERROR, "must not reach"),
    (False, DENIED, True, FAILED, ERROR, "network plugin is not enforcing NetworkPolicy"),
])
def test_combine(allow: bool, verdict: object, connected: bool, outcome: Outcome, severity: Severity,
                 words: str) -> None:
    result = combine(pair(allow), verdict, connected, "live result")  # type: ignore[arg-type]
    assert (result.outcome, result.severity) == (outcome, severity)
    assert words in result.message


def test_blocked_pair_carries_the_policy_patch() -> None:
    outcome = combine(pair(True), DENIED, False, "refused")
    assert outcome.fix and outcome.fix[0].startswith("kubectl patch networkpolicy api-netpol -n shop")
