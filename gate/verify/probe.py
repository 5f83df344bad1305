"""Live connectivity probes from a caller's identity: probe pods, or exec in a caller pod.

A probe pod carries the caller's pod-template labels, so NetworkPolicies treat
it as the caller, plus a deploy-gate marker. It never becomes Ready (its
readiness probe always fails), so it never joins a Service's endpoints. It is
least-privileged, and bounded by activeDeadlineSeconds. Every probe pod this
process creates is deleted on success, failure, timeout, Ctrl-C and SIGTERM,
and a run also removes probe pods that earlier runs left behind.

The script retries with backoff until two attempts agree, then writes one
line to its termination message: no pods/log permission is needed.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from kubernetes import client as k8s_client
from kubernetes.stream import stream

from gate.cluster import Cluster, Watcher, WatchEvent, end_watchers
from gate.errors import ClusterError, PermissionDenied
from gate.kinds import BUILTIN_RESOURCES
from gate.objects import Object, dig
from gate.schema import rfc3339, validate_live

PROBE_LABEL = "deploy-gate.io/probe"
RUN_LABEL = "deploy-gate.io/run"
HASH_LABELS = ("pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
               "batch.kubernetes.io/controller-uid", "controller-uid", "batch.kubernetes.io/job-name", "job-name")
STALE_AFTER_SECONDS = 600
CLEANUP_SECONDS = 10.0  # deleting this run's probe pods, even past the run's deadline
# Policy enforcers program a new pod's rules asynchronously (kube-router here took about 1 s):
# attempts before that would agree on a wrong answer, so the first waits this long.
SETTLE_SECONDS = 2
FAILURE_HOLD_SECONDS = 10
PODS = BUILTIN_RESOURCES["Pod"]

# POSIX sh for busybox: HOST PORT HTTP_PATH ATTEMPT_TIMEOUT DEADLINE SETTLE HOLD in the environment.
# A success stands once two attempts agree; a failure only once it has held for HOLD seconds
# (or the deadline came): right after a rollout, enforcement and Service rules still converge,
# and their transient errors are always failures, never false successes.
SCRIPT = r"""
attempt() {
  out=$( { if [ -n "$HTTP_PATH" ]; then
             printf 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: deploy-gate-probe\r\n\r\n' "$HTTP_PATH" "$HOST"
           fi; } | nc -w "$ATTEMPT_TIMEOUT" "$HOST" "$PORT" 2>&1 )
  rc=$?
  first=$(echo "$out" | head -n 1)
  case "$out" in
    *"bad address"*) echo "dns-failure|$first" ;;
    *"Connection refused"*) echo "refused|$first" ;;
    *"timed out"*) echo "timeout|no answer within ${ATTEMPT_TIMEOUT}s" ;;
    *"No route to host"*|*"unreachable"*) echo "unreachable|$first" ;;
    *)
      if [ "$rc" -ne 0 ]; then echo "error|$first"
      elif [ -n "$HTTP_PATH" ]; then
        code=$(echo "$first" | cut -d ' ' -f 2)
        case "$code" in
          2??) echo "success|$first" ;;
          "") echo "no-response|connected, but no HTTP answer" ;;
          *) echo "http-error|$first" ;;
        esac
      else echo "success|connected"
      fi ;;
  esac
}
start=$(date +%s); previous=""; since=$start; attempts=0; delay=1
sleep "$SETTLE"
while :; do
  result=$(attempt); attempts=$((attempts + 1)); now=$(date +%s)
  echo "attempt $attempts: $result"
  if [ "$result" != "$previous" ]; then
    previous=$result; since=$now
  else
    case "$result" in success*) break ;; esac
    if [ $((now - since)) -ge "$HOLD" ]; then break; fi
  fi
  if [ $((now - start + delay + ATTEMPT_TIMEOUT)) -gt "$DEADLINE" ]; then
    [ "$attempts" -gt 1 ] && [ $((now - since)) -eq 0 ] && result="$result (results disagreed)"
    break
  fi
  sleep "$delay"; [ "$delay" -lt 2 ] && delay=$((delay * 2))
done
echo "$attempts|$result" > /dev/termination-log 2>/dev/null || true
echo "RESULT $attempts|$result"
"""


@dataclass(frozen=True)
class ProbeTarget:
    """What one probe connects to, from which identity."""

    key: str  # the pair's name: results come back under it
    namespace: str  # the caller's namespace
    labels: dict[str, str]  # the caller's pod-template labels
    host: str  # Service DNS name as the caller would use it
    port: int
    http_path: str | None
    timeout: float


class ProbeKind(StrEnum):
    """What a probe observed (the script's words), or why it did not run."""

    SUCCESS = "success"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    DNS_FAILURE = "dns-failure"
    UNREACHABLE = "unreachable"
    HTTP_ERROR = "http-error"
    NO_RESPONSE = "no-response"
    ERROR = "error"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class ProbeResult:
    kind: ProbeKind
    detail: str
    attempts: int = 0

    @property
    def connected(self) -> bool:
        return self.kind is ProbeKind.SUCCESS

    def __str__(self) -> str:
        tries = f" ({self.attempts} attempts)" if self.attempts else ""
        return f"{self.kind}: {self.detail}{tries}"


def parse_result(message: str) -> ProbeResult:
    """'attempts|kind|detail' as the script writes it."""
    parts = message.strip().split("|", 2)
    if len(parts) < 3 or not (parts[0].isascii() and parts[0].isdigit()) or \
            parts[1] not in {k.value for k in ProbeKind}:  # isdigit() alone accepts '²'; int() does not
        return ProbeResult(ProbeKind.ERROR, f"unreadable probe result {message.strip()!r}")
    return ProbeResult(ProbeKind(parts[1]), parts[2], int(parts[0]))


def _environment(target: ProbeTarget) -> dict[str, str]:
    attempt_timeout = max(1, min(3, int(target.timeout // 5)))
    return {"HOST": target.host, "PORT": str(target.port), "HTTP_PATH": target.http_path or "",
            "ATTEMPT_TIMEOUT": str(attempt_timeout), "DEADLINE": str(int(target.timeout)),
            "SETTLE": str(SETTLE_SECONDS), "HOLD": str(min(FAILURE_HOLD_SECONDS, int(target.timeout // 2)))}


def probe_pod(target: ProbeTarget, image: str, run_id: str) -> Object:
    """The probe pod: the caller's labels, never Ready, least privilege, bounded in time."""
    labels = {k: v for k, v in target.labels.items() if k not in HASH_LABELS}
    labels.update({PROBE_LABEL: "true", RUN_LABEL: run_id})
    env = [{"name": k, "value": v} for k, v in _environment(target).items()]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "deploy-gate-probe-", "namespace": target.namespace, "labels": labels,
                     "annotations": {"deploy-gate.io/pair": target.key[:250]}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "activeDeadlineSeconds": int(target.timeout) + 60,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", SCRIPT],
                "env": env,
                "terminationMessagePolicy": "File",
                # Never Ready: the probe must never become an endpoint of a Service selecting the caller.
                "readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 3600},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "10m", "memory": "8Mi"},
                              "limits": {"cpu": "100m", "memory": "32Mi"}},
            }],
        },
    }


def _result_of(pod: Object) -> ProbeResult | None:
    """The probe's verdict once its container has terminated; None while it runs."""
    if dig(pod, "status", "phase") == "Failed" and dig(pod, "status", "reason") == "DeadlineExceeded":
        return ProbeResult(ProbeKind.TIMEOUT, "the probe pod hit its activeDeadlineSeconds")
    for status in dig(pod, "status", "containerStatuses") or []:
        terminated = dig(status, "state", "terminated")
        if terminated:
            return parse_result(terminated.get("message") or "")
        waiting = dig(status, "state", "waiting") or {}
        if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
                                     "CreateContainerConfigError"):
            return ProbeResult(ProbeKind.NOT_RUN, f"probe image: {waiting.get('reason')}: {waiting.get('message', '')}")
    return None


class ProbePods:
    """Creates probe pods for a run, waits for their results, and always deletes them."""

    def __init__(self, cluster: Cluster, image: str) -> None:
        self.cluster, self.image = cluster, image
        self.run_id = uuid.uuid4().hex[:12]
        self.created: list[tuple[str, str]] = []  # (namespace, name)
        self.namespaces: set[str] = set()  # where this run creates probe pods
        self._lock = threading.Lock()

    def remove_stale(self, namespaces: set[str]) -> int:
        """Delete probe pods of earlier runs that have finished or outlived any probe."""
        removed = 0
        now = datetime.now(UTC)
        for namespace in sorted(namespaces):
            pods, _ = self.cluster.list(PODS, namespace, label_selector=f"{PROBE_LABEL}=true")
            for pod in pods:
                validate_live(pod, PODS.kind)
                created = rfc3339(dig(pod, "metadata", "creationTimestamp")) or now
                finished = dig(pod, "status", "phase") in ("Succeeded", "Failed")
                if finished or (now - created).total_seconds() > STALE_AFTER_SECONDS:
                    self.cluster.delete(PODS, namespace, dig(pod, "metadata", "name"))
                    removed += 1
        return removed

    def run(self, targets: list[ProbeTarget], deadline_seconds: float) -> dict[str, ProbeResult]:
        """Probe every target at once; results by target key. Pods are deleted before returning.

        A target without a result by `deadline_seconds` gets a TIMEOUT result; by the run's deadline
        (Cluster.bound, --timeout), which comes first, none: it was not judged in time.
        """
        if not targets:
            return {}
        events: queue.Queue[WatchEvent] = queue.Queue()
        stop = threading.Event()
        watchers = [Watcher(self.cluster, PODS, namespace, events, stop, f"{RUN_LABEL}={self.run_id}")
                    for namespace in sorted({t.namespace for t in targets})]
        keys: dict[str, str] = {}  # pod name -> target key
        results: dict[str, ProbeResult] = {}
        try:
            for watcher in watchers:
                watcher.start()
            for target in targets:
                self.namespaces.add(target.namespace)
                pod = self.cluster.create(PODS, target.namespace, probe_pod(target, self.image, self.run_id))
                validate_live(pod, PODS.kind)
                name = dig(pod, "metadata", "name")
                with self._lock:
                    self.created.append((target.namespace, name))
                keys[name] = target.key
            own = time.monotonic() + deadline_seconds
            deadline = min(own, math.inf if self.cluster.deadline is None else self.cluster.deadline)
            while len(results) < len(targets) and time.monotonic() < deadline:
                try:
                    event = events.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
                except queue.Empty:
                    continue
                if event.type == "ERROR":
                    assert event.error is not None
                    raise event.error
                for pod in event.objects:
                    validate_live(pod, PODS.kind)
                    key = keys.get(dig(pod, "metadata", "name") or "")
                    if key and key not in results and (result := _result_of(pod)) is not None:
                        results[key] = result
            for target in targets if deadline == own else ():
                results.setdefault(target.key, ProbeResult(ProbeKind.TIMEOUT,
                                                           f"no result within {deadline_seconds:.0f} s"))
            return results
        finally:
            try:
                end_watchers(watchers)
            finally:  # a signal during the wait must not keep the pods
                self.cleanup()

    def cleanup(self) -> None:
        """Delete every probe pod of this run (called on every exit path, signals included).

        A signal can land while a create request is in flight: the pod then exists without
        this process knowing its name, so the run's label is swept as well.
        """
        with self._lock:
            created, self.created = self.created, []
        # Past the run's deadline (--timeout) too: the pods must not be left behind.
        previous = self.cluster.deadline
        self.cluster.bound(time.monotonic() + CLEANUP_SECONDS)
        # If a delete fails, the pod's activeDeadlineSeconds and the next run's stale sweep remain.
        try:
            with contextlib.suppress(ClusterError):
                for namespace, name in created:
                    self.cluster.delete(PODS, namespace, name)
                for namespace in sorted(self.namespaces):
                    pods, _ = self.cluster.list(PODS, namespace, label_selector=f"{RUN_LABEL}={self.run_id}")
                    for pod in pods:
                        self.cluster.delete(PODS, namespace, dig(pod, "metadata", "name"))
        finally:
            self.cluster.bound(previous)


def exec_probe(cluster: Cluster, namespace: str, pod: str, target: ProbeTarget) -> ProbeResult:
    """Run the probe script inside an existing caller pod (pods/exec): no new pod, the caller's own image."""
    command = ["env", *(f"{k}={v}" for k, v in _environment(target).items()), "sh", "-c", SCRIPT]
    try:
        output = stream(k8s_client.CoreV1Api(cluster.api).connect_get_namespaced_pod_exec, pod, namespace,
                        command=command, stderr=True, stdin=False, stdout=True, tty=False,
                        _request_timeout=target.timeout + 30)
    except k8s_client.ApiException as error:
        # The exec stream is a websocket upgrade (a GET): a refusal arrives as a failed handshake.
        if error.status == 403 or "Handshake status 403" in str(error.reason):
            raise PermissionDenied("get", "pods/exec", namespace) from error
        raise ClusterError(f"exec in pod/{pod}: {error.status} {error.reason}") from error
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            return parse_result(line[len("RESULT "):])
    return ProbeResult(ProbeKind.ERROR,
                       f"the caller's image could not run the probe (it needs sh and nc): {output[-200:]}")
