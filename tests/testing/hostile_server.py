"""A hostile API server for the tests: plain HTTP on 127.0.0.1, misbehaving in one named way.

It serves what `deploy-gate verify` asks for a Deployment (web in namespace shop, not rolled out) and a
custom Widget's discovery document, and misbehaves as an API server under attack, broken or on a
broken network might: it drip-feeds, pages forever, ends or expires every watch at once, answers 410
to every list, sends endless or huge bodies, or keeps a frozen storage (watches open and silent,
quorum reads hanging). It counts the requests it gets per path, so a test can tell a retry storm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml

from tests.testing.git import ROOT

NAMESPACE = "shop"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
WIDGETS_DISCOVERY = "/apis/example.com/v1"
DEPLOYMENT = {"metadata": {"name": "web", "namespace": NAMESPACE, "uid": "d-web", "generation": 1,
                           "resourceVersion": "10"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}}}},
              "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0}}
MISBEHAVIOURS = ("drip-discovery", "drip-list", "endless-continue", "watch-ends-at-once", "watch-410", "list-410",
                 "endless-body", "many-items", "many-objects", "frozen-storage", "frozen-storage-readyz-ok",
                 "junk-list", "nan-list", "item-not-object", "junk-watch", "watch-event-not-object")


class HostileApiServer(ThreadingHTTPServer):
    """Answers as `misbehaviour` says; `requests` counts them per path (query left out)."""

    daemon_threads = True

    def __init__(self, misbehaviour: str) -> None:
        assert misbehaviour in MISBEHAVIOURS, misbehaviour
        self.misbehaviour = misbehaviour
        self.requests: Counter[str] = Counter()
        self.released = threading.Event()  # ends the handlers that wait (drips, silent watches, frozen reads)
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": self.url}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": NAMESPACE}}]}))
        return path

    def __enter__(self) -> HostileApiServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: HostileApiServer
    protocol_version = "HTTP/1.1"  # as the API server speaks: kept connections, chunked watch streams

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.server.requests[url.path] += 1
        how = self.server.misbehaviour
        try:
            if url.path == "/readyz":
                self._readyz(how)
            elif url.path == WIDGETS_DISCOVERY:
                self._discovery(how)
            elif "watch" in query:
                self._watch(how)
            elif url.path.startswith(f"{DEPLOYMENTS}/"):  # a get: the storage check's quorum read
                self._get(how)
            else:
                self._list(how, url.path, query)
        except OSError:  # the client gave up (as it should): nothing more to send
            pass

    # --- the answers -----------------------------------------------------------------------

    def _readyz(self, how: str) -> None:
        if how == "frozen-storage":
            self._send(b"[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n", 500, "text/plain")
        else:
            self._send(b"ok", content_type="text/plain")

    def _discovery(self, how: str) -> None:
        body = json.dumps({"kind": "APIResourceList", "groupVersion": "example.com/v1", "resources": [
            {"name": "widgets", "kind": "Widget", "namespaced": True, "verbs": ["get", "list", "watch"]}]}).encode()
        if how == "drip-discovery":
            self._drip(body)
        else:
            self._send(body)

    def _get(self, how: str) -> None:
        if how.startswith("frozen-storage"):
            self.server.released.wait(60)  # etcd does not answer
            return
        self._send(json.dumps({"kind": "Deployment", "apiVersion": "apps/v1", **DEPLOYMENT}).encode())

    def _list(self, how: str, path: str, query: dict[str, list[str]]) -> None:
        items = [DEPLOYMENT] if path == DEPLOYMENTS else []
        page = {"kind": "List", "items": items, "metadata": {"resourceVersion": "10"}}
        if how == "drip-list":
            self._drip(json.dumps(page).encode())
        elif how == "endless-continue":
            page["metadata"]["continue"] = f"token-{query.get('continue', ['0'])[0]}-next"
            self._send(json.dumps(page).encode())
        elif how == "list-410":
            self._send(json.dumps({"kind": "Status", "code": 410, "reason": "Expired",
                                   "message": "too old resource version"}).encode(), 410)
        elif how == "endless-body":
            self._endless_body()
        elif how == "many-items":  # 3 million items, 10,000 a page
            pages = int(query.get("continue", ["0"])[0])
            page["items"] = [{"metadata": {"name": f"p{pages}-{i}", "namespace": NAMESPACE}} for i in range(10_000)]
            page["metadata"]["continue"] = str(pages + 1) if pages < 300 else ""
            self._send(json.dumps(page).encode())
        elif how == "junk-list":
            self._send(b'{"kind": "List", "items": [}')
        elif how == "nan-list":  # Python's json would read it; the API server never writes it
            self._send(json.dumps(page).replace('"readyReplicas": 0', '"readyReplicas": NaN').encode())
        elif how == "item-not-object":
            page["items"] = [*items, 5] if items else []
            self._send(json.dumps(page).encode())
        elif how == "many-objects":  # 30 MB of empty objects in one page: 10 million of them
            self._send(b'{"kind": "List", "metadata": {}, "items": [' + b"{}," * 10_000_000 + b"{}]}")
        else:
            self._send(json.dumps(page).encode())

    def _watch(self, how: str) -> None:
        if how == "watch-ends-at-once":
            self._send(b"")
        elif how in ("junk-watch", "watch-event-not-object"):
            self._send(b"{not json\n" if how == "junk-watch" else b"5\n")
        elif how == "watch-410":
            self._send(json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                               "message": "too old resource version"}}).encode()
                       + b"\n")
        else:  # open and silent, as a quiet namespace's (or a frozen storage's) watch is
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.server.released.wait(60)

    # --- the wire ----------------------------------------------------------------------------

    def _send(self, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self, body: bytes) -> None:
        """The whole length announced, then a byte every half second: no single recv ever times out."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.released.wait(0.5):
                return

    def _endless_body(self) -> None:
        """A list that never ends (no Content-Length: the body runs until the connection closes)."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b'{"kind": "List", "items": [')
        chunk = b'{"metadata": {"name": "x"}},' * 4096
        deadline = time.monotonic() + 60
        while not self.server.released.is_set() and time.monotonic() < deadline:
            self.wfile.write(chunk)


# From spawning the process to its exit, beyond the deadline: the 2 s the issue allows, plus the start of a
# Python process that imports the Kubernetes client before the deadline's clock starts (about 0.5 s here).
ALLOWED_PAST_DEADLINE = 2.0 + 1.0


# deploy-gate, recording its peak resident memory (VmHWM) as it exits. Not ru_maxrss: a child forked from a
# large pytest process counts the parent's pages until exec; VmHWM starts again at exec.
WITH_PEAK_MEMORY = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def record() -> None:
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")))
atexit.register(record)
runpy.run_module("gate", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


def deploy_gate(server: HostileApiServer, tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> Run:
    """deploy-gate with `args` against the server, in a process of its own."""
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **(env or {})}
    stdout, stderr, peak = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "peak"
    started = time.monotonic()
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen([sys.executable, "-c", WITH_PEAK_MEMORY, str(peak), *args, "--kubeconfig",
                                    str(server.kubeconfig(tmp_path / "kubeconfig"))],
                                   stdout=out, stderr=err, cwd=ROOT, env=environment)
    try:
        process.wait(timeout=60)  # a hang fails the test instead of blocking the suite
    finally:
        process.kill()
    seconds = time.monotonic() - started
    peak_kb = int(peak.read_text().split()[1])
    return Run(process.returncode, stdout.read_text(), stderr.read_text(), seconds, peak_kb / 1024)


def deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}}


def error_line(run: Run) -> str:
    """The run's one error line, checked to be one."""
    lines = [line for line in run.stderr.splitlines() if line.startswith("deploy-gate: ")]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]
