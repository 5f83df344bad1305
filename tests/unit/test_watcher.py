"""The watcher's own resilience: it resumes after a dropped stream and relists after 410 Gone.

The server here only scripts the wire (a list, a stream cut mid-way, an expired
resourceVersion); what is under test is deploy-gate's reaction, not API semantics.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import yaml

from gate.cluster import Cluster, Watcher, WatchEvent, end_watchers
from gate.kinds import BUILTIN_RESOURCES


def pod(name: str, version: str) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": version}}


class Script(BaseHTTPRequestHandler):
    """List at rv 10; first watch sends one event then drops; second answers 410; relist at rv 20."""

    watches: ClassVar[int] = 0
    lists: ClassVar[int] = 0
    seen_versions: ClassVar[list[str]] = []

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        if "watch" not in query:
            cls = type(self)
            cls.lists += 1
            items = [pod("a", "10")] if cls.lists == 1 else [pod("a", "10"), pod("b", "11"), pod("c", "20")]
            self._send(json.dumps({"items": items, "metadata": {"resourceVersion": "10" if cls.lists == 1
                                                                else "20"}}).encode())
            return
        cls = type(self)
        cls.watches += 1
        cls.seen_versions.append(query["resourceVersion"][0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if cls.watches == 1:
            self.wfile.write(json.dumps({"type": "ADDED", "object": pod("b", "11")}).encode() + b"\n")
            self.wfile.flush()
            self.connection.close()  # the connection drops mid-stream
        elif cls.watches == 2:
            gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}
            self.wfile.write(json.dumps(gone).encode() + b"\n")
        else:
            self.wfile.write(json.dumps({"type": "MODIFIED", "object": pod("c", "21")}).encode() + b"\n")
            self.wfile.flush()
            threading.Event().wait(2)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Silent(Script):
    """Lists as Script does; every watch answers as the API server does (HTTP/1.1, chunked, the connection
    kept), then sends nothing until released (a quiet namespace)."""

    protocol_version = "HTTP/1.1"
    released = threading.Event()

    def do_GET(self) -> None:
        if "watch" not in parse_qs(urlparse(self.path).query):
            super().do_GET()
            return
        type(self).watches += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self.released.wait(60)


def scripted_server(tmp_path: Path, script: type[Script] = Script) -> tuple[ThreadingHTTPServer, Path]:
    """A fresh script (its counters at zero) served on a free port, and a kubeconfig that points at it."""
    script.watches, script.lists, script.seen_versions = 0, 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), script)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return server, kubeconfig



def started_watcher(kubeconfig: Path, go_on: threading.Event | None = None
                    ) -> tuple[Watcher, queue.Queue[WatchEvent]]:
    """A started watcher of the pods in namespace ns (its stop flag is watcher.stop_event), and its event queue."""
    events: queue.Queue[WatchEvent] = queue.Queue()
    stop = threading.Event()
    watcher = Watcher(Cluster(str(kubeconfig)), BUILTIN_RESOURCES["Pod"], "ns", events, stop, go_on=go_on)
    watcher.start()
    return watcher, events


def test_a_watcher_told_to_wait_opens_no_watch_until_told_to_go_on(tmp_path: Path) -> None:
    """verify's first lists may decide every check: then no watch is opened at all; when they do not, the
    watch resumes from the list's resourceVersion, so what changed in between is not missed."""
    server, kubeconfig = scripted_server(tmp_path)
    go_on = threading.Event()
    watcher, events = started_watcher(kubeconfig, go_on)
    try:
        assert events.get(timeout=10).type == "SYNCED"
        threading.Event().wait(0.5)
        assert (Script.watches, watcher.connections) == (0, 0)
        go_on.set()
        event = events.get(timeout=10)
        assert (event.type, event.objects[0]["metadata"]["name"]) == ("ADDED", "b")
        assert Script.seen_versions[0] == "10"
    finally:
        end_watchers([watcher])  # its thread ends here: a later test's counters must not see it
        server.shutdown()


def test_a_waiting_watcher_ends_when_stopped(tmp_path: Path) -> None:
    server, kubeconfig = scripted_server(tmp_path)
    watcher, events = started_watcher(kubeconfig, threading.Event())
    try:
        assert events.get(timeout=10).type == "SYNCED"
        watcher.stop_event.set()
        watcher.join(timeout=5)
    finally:
        server.shutdown()
    assert not watcher.is_alive()
    assert Script.watches == 0


def test_watcher_resumes_after_a_drop_and_relists_after_410(tmp_path: Path) -> None:
    server, kubeconfig = scripted_server(tmp_path)
    watcher, events = started_watcher(kubeconfig)
    seen = []
    try:
        while len(seen) < 4:
            event = events.get(timeout=10)
            seen.append((event.type, [o["metadata"]["name"] for o in event.objects]))
    finally:
        end_watchers([watcher])
        server.shutdown()
    assert seen == [("SYNCED", ["a"]), ("ADDED", ["b"]), ("SYNCED", ["a", "b", "c"]), ("MODIFIED", ["c"])]
    # after the drop it resumed from the last resourceVersion it had seen; after 410 from the new list's
    assert Script.seen_versions[:3] == ["10", "11", "20"]


def test_ending_a_watcher_interrupts_its_open_stream(tmp_path: Path) -> None:
    """A watch may wait a minute for its next event. The run must not exit while the thread still reads it
    (see end_watchers), nor wait that minute: the stream is interrupted and the thread ends at once."""
    server, kubeconfig = scripted_server(tmp_path, Silent)
    watcher, events = started_watcher(kubeconfig)
    try:
        assert events.get(timeout=10).type == "SYNCED"
        opened = time.monotonic()
        while Silent.watches == 0 and time.monotonic() - opened < 10:
            threading.Event().wait(0.01)
        threading.Event().wait(0.2)  # the watcher is now blocked reading the silent stream
        assert watcher.is_alive() and watcher.stream is not None
        started = time.monotonic()
        end_watchers([watcher], within=10)
        ended_after = time.monotonic() - started
    finally:
        Silent.released.set()
        server.shutdown()
    assert not watcher.is_alive()
    assert ended_after < 1, ended_after
    assert events.empty()  # an interrupt is no outage: nothing reported after the stop


class Outage(BaseHTTPRequestHandler):
    """Lists at rv 10; then the first watch and the relist after it find no server (the connection closed
    unanswered); then the server is back: a list at rv 20 and a watch that stays silent until released.
    HTTP/1.1 with chunked watches, as the API server answers."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[str]] = []
    times: ClassVar[list[float]] = []
    released = threading.Event()

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        watch = "watch" in parse_qs(urlparse(self.path).query)
        type(self).requests.append("watch" if watch else "list")
        type(self).times.append(time.monotonic())
        if len(self.requests) in (2, 3):
            self.close_connection = True  # closed without an answer
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if watch:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.released.wait(60)
            return
        version = "10" if len(self.requests) == 1 else "20"
        body = json.dumps({"items": [pod("a", version)], "metadata": {"resourceVersion": version}}).encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_unreachable_server_is_said_once_and_relisted_when_back(tmp_path: Path) -> None:
    """After its first list, a watcher that loses the server says DISCONNECTED once (verdicts wait while blind),
    retries with backoff, and relists once the server answers: that list is both the state missed and the proof."""
    Outage.requests, Outage.times = [], []
    server, kubeconfig = scripted_server(tmp_path, Outage)  # type: ignore[arg-type]
    watcher, events = started_watcher(kubeconfig)
    seen = []
    try:
        while len(seen) < 3:
            event = events.get(timeout=10)
            seen.append((event.type, [o["metadata"]["resourceVersion"] for o in event.objects]))
        threading.Event().wait(0.3)  # nothing more: the watch after the relist is open and silent
        assert events.empty()
    finally:
        end_watchers([watcher])
        Outage.released.set()
        server.shutdown()
    assert not watcher.is_alive()
    assert seen == [("SYNCED", ["10"]), ("DISCONNECTED", []), ("SYNCED", ["20"])]
    assert Outage.requests == ["list", "watch", "list", "list", "watch"]
    waits = [later - earlier for earlier, later in itertools.pairwise(Outage.times[1:4])]
    assert waits[0] >= 0.2 and waits[1] >= 0.4, waits  # the outage backoff: 0.2 s doubling, no jitter
