"""The only module that talks to the API server: config, requests, list+watch.

Objects come back as plain dicts (the API's JSON), the same shape manifests
have, so the pure core never knows where an object came from. Errors become
the small exception family of gate.errors, chaining the cause.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import urllib3
from kubernetes import client as k8s_client
from kubernetes.config import incluster_config

from gate.errors import ClusterError, ConfigError, GateError, ManifestError, PermissionDenied
from gate.escape import conceal, scrubbed
from gate.kinds import BUILTIN_RESOURCES, Resource, is_builtin, may_create_pods
from gate.kubeconfig import load as load_kubeconfig
from gate.objects import Object, dig
from gate.status.events import warning_lines

TRACE = bool(os.environ.get("DEPLOY_GATE_TRACE"))  # timing lines for the benchmark (bench/README.md)
WATCH_SECONDS = 60  # server-side timeout of one watch request; a new one resumes from the last resourceVersion
REQUEST_TIMEOUT = (5, 30)  # connect, read (per recv: a drip-fed answer never trips it; REQUEST_SECONDS does)
REQUEST_SECONDS = 60.0  # the most one request may take in all, body included (--request-timeout's default)
STORAGE_CHECK_SECONDS = 5.0  # confirm_storage: /readyz and the quorum reads together
# What one answer may hold (docs/reliability.md, "Limits"); each can be set in the environment variable named.
# A 1.5 GB list once took 4.3 GB of memory: parsed JSON takes several times the bytes it came in, and tiny
# objects ('{},') up to twenty times, hence the separate cap on objects ('{' counted before parsing).
RESPONSE_LIMITS = {
    "DEPLOY_GATE_MAX_RESPONSE_BYTES": 64 * 1024 * 1024,  # one answer's body, or one watch event
    "DEPLOY_GATE_MAX_RESPONSE_OBJECTS": 1_000_000,  # JSON objects in one answer (a page of 500 pods: ~200,000)
    "DEPLOY_GATE_MAX_LIST_ITEMS": 50_000,  # items of one list, all its pages together
    "DEPLOY_GATE_MAX_LIST_PAGES": 1_000,  # pages of one list (`continue` tokens followed)
}
LIST_PAGE = 500  # items asked per page
# client-go's reflector backoff (wait.NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0)): each wait is
# d to 2d, d doubling from 0.8 s to 30 s. Taken before a relist after 410 Gone and after a watch that ended at once.
BACKOFF_INITIAL, BACKOFF_CAP = 0.8, 30.0
MIN_WATCH_SECONDS = 1.0  # a watch that ends sooner without an event is a failure (client-go: "very short watch")
TROUBLE_AFTER = 2  # failures in a row before a watcher counts as not following the server
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def without_bookkeeping(obj: Object) -> Object:
    """Drop what only apply machinery reads: managedFields and kubectl's last-applied copy of the object.

    They are a third to a half of a live object's JSON, a large run holds
    thousands of objects, and no check reads either field (figures: bench/README.md).
    """
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    return obj


def limit(name: str) -> int:
    """A limit of RESPONSE_LIMITS, or the positive whole number its environment variable sets instead."""
    value = os.environ.get(name, "").strip()
    if not value:
        return RESPONSE_LIMITS[name]
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ConfigError(f"{name}={value!r}: expected a positive whole number")
    return int(value)


def _describe(verb: str, resource: Resource | None, namespace: str | None, path: str) -> str:
    """'list deployments in namespace shop', or 'GET /apis/example.com/v1': what a request was for."""
    if resource is None:
        return f"{verb} {path}"
    return f"{verb} {resource.name}" + (f" in namespace {namespace}" if namespace else "")


class LimitExceeded(ClusterError):
    """An answer past a bound: the run's deadline, the size of a response, or the length of a list."""


class DeadlinePassed(LimitExceeded):
    """The run's deadline (Cluster.bound) came before the answer did."""


class MalformedAnswer(ClusterError):
    """The API server's answer is not the JSON it must be: the run cannot verify, and says so in one line."""


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def parse_json(data: bytes | bytearray, what: str) -> Any:
    """JSON as the API server must send it: Python's own extensions (NaN, Infinity) refused."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise MalformedAnswer(f"could not verify: {what}: malformed JSON ({error})") from error


@dataclass(frozen=True)
class _Budget:
    """When one request must have ended, how its messages say so, and the error past it."""

    until: float  # time.monotonic(); inf: unbounded
    by: str  # "within 30 s (--request-timeout)", "before the run's deadline", or "" when unbounded
    late: type[LimitExceeded]  # DeadlinePassed when the run's deadline is the bound


class ApiStatusError(ClusterError):
    """A non-2xx answer that is not a permission problem; keeps the HTTP status for callers."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"  # token, ca.crt and namespace of a pod


@dataclass(frozen=True)
class ConfigSource:
    """Where the cluster configuration comes from: kubeconfig file(s), or the pod's service account."""

    files: str | None  # a path, or KUBECONFIG's list; None means in-cluster
    name: str  # how an error message names it


def config_source(explicit: str | None) -> ConfigSource:
    """The source kubectl would use (client-go's clientcmd loading rules, then the in-cluster fallback).

    An explicit --kubeconfig wins; else KUBECONFIG (its files merged; ~/.kube/config is not read when it is
    set); else ~/.kube/config. Only when that yields no file does a pod's service account count
    (DeferredLoadingClientConfig.ClientConfig: the merged config is empty and in-cluster is possible).
    """
    if explicit:
        return ConfigSource(explicit, f"--kubeconfig {explicit}")
    env = os.environ.get("KUBECONFIG")
    if env:
        if any(os.path.isfile(os.path.expanduser(path)) for path in env.split(os.pathsep) if path):
            return ConfigSource(env, f"KUBECONFIG={env}")
    else:
        home = os.path.expanduser("~/.kube/config")
        if os.path.isfile(home):
            return ConfigSource(home, home)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT") and \
            os.path.isfile(f"{SERVICE_ACCOUNT}/token"):
        return ConfigSource(None, f"the in-cluster config ({SERVICE_ACCOUNT})")
    searched = env or os.path.expanduser("~/.kube/config")
    return ConfigSource(searched, f"{'KUBECONFIG=' if env else ''}{searched} (no such file, and not inside a pod)")


class Cluster:
    """An authenticated connection to one cluster (kubeconfig context or in-cluster config)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None,
                 request_seconds: float | None = REQUEST_SECONDS) -> None:
        """request_seconds: --request-timeout, the most one request may take (None: no bound but the deadline's)."""
        self.request_seconds = request_seconds
        configuration = k8s_client.Configuration()
        self.namespace = "default"
        self.source = config_source(kubeconfig)
        try:
            if self.source.files is None:
                incluster_config.InClusterConfigLoader(f"{SERVICE_ACCOUNT}/token", f"{SERVICE_ACCOUNT}/ca.crt"
                                                       ).load_and_set(configuration)
                try:
                    with open(f"{SERVICE_ACCOUNT}/namespace", encoding="utf-8") as f:
                        self.namespace = f.read().strip() or "default"
                except OSError:
                    pass
            else:
                self.namespace = load_kubeconfig(self.source.files, context, configuration)
        except GateError:
            raise
        except Exception as error:  # the client's loader raises anything (YAMLError, KeyError) on a broken file
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ConfigError(f"cannot load the cluster configuration from {self.source.name}: {reason}") from error
        if not configuration.host or "://" not in configuration.host:
            raise ConfigError(f"cannot load the cluster configuration from {self.source.name}: the context names "
                              f"no https:// server, got {configuration.host!r}")
        for credential in configuration.api_key.values():  # "Bearer <token>": the token is never printed
            conceal(credential.rpartition(" ")[2])
        configuration.retries = False
        self.server = scrubbed(configuration.host)  # how messages name it: no userinfo, no query string
        self.api = k8s_client.ApiClient(configuration)
        # Plain requests wait for one of the pool's kept connections rather than open more: a new TLS
        # connection costs 5 ms of CPU, a reused one 0.6 ms, and verify lists dozens of kinds at once.
        self._kept_connections = threading.BoundedSemaphore(configuration.connection_pool_maxsize)
        self._resources: dict[tuple[str, str], Resource] = {}
        self.requests = 0  # for the benchmark: requests sent by this process

    # --- requests --------------------------------------------------------------------------

    deadline: float | None = None  # time.monotonic() by which every request must have ended; None: request_seconds

    def bound(self, deadline: float | None) -> None:
        """Bound every request from now on by `deadline` (time.monotonic()), or only by request_seconds (None)."""
        self.deadline = deadline

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def request(self, method: str, path: str, query: list[tuple[str, Any]] | None = None, body: Any = None,
                stream: bool = False, timeout: tuple[float, float] = REQUEST_TIMEOUT, verb: str | None = None,
                resource: Resource | None = None, namespace: str | None = None, what: str | None = None,
                within: float | None = None, parse: bool = True) -> Any:
        """Send one request; return parsed JSON (raw bytes with parse=False, the open response with stream=True).

        The whole request, headers and body, ends within `within` seconds (default: --request-timeout) and by
        the deadline, whichever is first (LimitExceeded otherwise); a stream's deadline covers connecting only.
        With neither (--request-timeout 0, no run deadline) only the per-recv read timeout bounds it, as kubectl's.
        """
        what = what or _describe(verb or method, resource, namespace, path)
        budget = self._budget(within)
        left = budget.until - time.monotonic()
        if left <= 0:
            raise budget.late(f"could not verify: {what}: no time left {budget.by}")
        serialized = self._serialize(method, path, query, body)
        # Per recv, the read timeout alone would let a drip-fed answer outlast any deadline: it is capped by the
        # time left here, and _read_body checks the time between chunks. A watch's stream may stay silent longer.
        timeouts = (min(timeout[0], left), timeout[1] if stream else min(timeout[1], left))  # inf: left unbounded
        with contextlib.nullcontext() if stream else self._kept_connections:
            response = self._send(serialized, timeouts, budget, what)
            if response.status >= 400:
                self._raise_for(response, self._read_body(response, budget, what), verb or method.lower(),
                                resource, namespace)
            if stream:
                return response
            data = self._read_body(response, budget, what)
        if not parse:
            return bytes(data)
        return self._parse_answer(data, what)

    def _budget(self, within: float | None) -> _Budget:
        """The bound of one request: `within` (or --request-timeout) from now, or the run's deadline if sooner.

        Past the run's deadline it raises DeadlinePassed, which the run judges by its own clock (a quorum read
        first); past its own time, plain LimitExceeded.
        """
        seconds = self.request_seconds if within is None else within
        until = math.inf if seconds is None else time.monotonic() + seconds
        by = "" if seconds is None else f"within {seconds:g} s" + (" (--request-timeout)" if within is None else "")
        if self.deadline is not None and self.deadline < until:
            return _Budget(self.deadline, "before the run's deadline", DeadlinePassed)
        return _Budget(until, by, LimitExceeded)

    def _serialize(self, method: str, path: str, query: list[tuple[str, Any]] | None, body: Any) -> tuple[Any, ...]:
        """The request as the client sends it (URL, headers with the token, body); counted for the benchmark."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        serialized = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                              body=body, auth_settings=["BearerToken"])
        self.requests += 1
        if self.requests == 1 and TRACE:
            print(f"deploy-gate: trace: first API request at {time.time():.6f} after {time.process_time():.3f} s "
                  "of CPU", file=sys.stderr, flush=True)
        return serialized

    def _send(self, serialized: tuple[Any, ...], timeouts: tuple[float, float], budget: _Budget,
              what: str) -> urllib3.HTTPResponse:
        """Send it and wait for the headers: a failure past the budget is the budget's error, else unreachable."""
        try:
            return self.api.call_api(*serialized[:4], _request_timeout=timeouts).response
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if time.monotonic() >= budget.until:
                raise budget.late(f"could not verify: {what}: no answer from {self.server} {budget.by}") from error
            reason = getattr(error, "reason", None) or error
            raise ClusterError(f"cannot reach the API server at {self.server}: {reason}") from error

    def _parse_answer(self, data: bytearray, what: str) -> Any:
        """The body's JSON (None if empty), refused before parsing past DEPLOY_GATE_MAX_RESPONSE_OBJECTS.

        Parsed, tiny objects take many times the bytes they came in: counting '{' first bounds the memory.
        """
        objects, most = data.count(b"{"), limit("DEPLOY_GATE_MAX_RESPONSE_OBJECTS")
        if objects > most:
            raise LimitExceeded(f"could not verify: {what}: the answer holds {objects} JSON objects, more than "
                                f"DEPLOY_GATE_MAX_RESPONSE_OBJECTS={most}")
        return parse_json(data, f"{what} from {self.server}") if data else None

    def _read_body(self, response: urllib3.HTTPResponse, budget: _Budget, what: str) -> bytearray:
        """The body, read in chunks within budget and up to DEPLOY_GATE_MAX_RESPONSE_BYTES; LimitExceeded past either.

        Each recv waits at most the time left, so a body sent a byte every few seconds ends at the deadline.
        A body left unread closes its connection: the pool never hands out one with an answer pending.
        """
        most = limit("DEPLOY_GATE_MAX_RESPONSE_BYTES")
        too_large = f"could not verify: {what}: the answer is larger than DEPLOY_GATE_MAX_RESPONSE_BYTES={most}"
        declared = response.headers.get("Content-Length", "")
        body = bytearray()
        try:
            if declared.isascii() and declared.isdigit() and int(declared) > most:
                raise LimitExceeded(too_large)
            while True:
                left = budget.until - time.monotonic()
                if left <= 0:
                    raise budget.late(f"could not verify: {what}: no complete answer from {self.server} {budget.by} "
                                      f"({len(body)} bytes received)")
                sock = response.connection.sock if response.connection is not None else None
                if isinstance(sock, socket.socket) and math.isfinite(left):
                    sock.settimeout(left)
                try:
                    chunk = response.read1(65536)
                except (urllib3.exceptions.HTTPError, OSError) as error:
                    if time.monotonic() < budget.until:
                        raise ClusterError(f"cannot reach the API server at {self.server}: {error}") from error
                    continue  # the time ran out during the recv: said above
                if not chunk:
                    return body
                body += chunk
                if len(body) > most:
                    raise LimitExceeded(too_large)
        except ClusterError:
            response.close()  # closes its connection too
            response.release_conn()
            raise

    def _raise_for(self, response: urllib3.HTTPResponse, body: bytes, verb: str, resource: Resource | None,
                   namespace: str | None) -> None:
        try:
            status = json.loads(body or b"{}")
        except ValueError:  # plain text: /readyz lists its failed checks as "[-]etcd failed: reason withheld"
            status = {"message": "; ".join(line for line in body.decode("utf-8", "replace").splitlines()
                                           if line.startswith("[-]"))}
        message = (status.get("message") if isinstance(status, dict) else None) or response.reason
        if response.status == 401:
            raise ClusterError(f"authentication to {self.server} failed (401): check the kubeconfig's credentials")
        if response.status == 403:
            raise PermissionDenied(verb, resource.name if resource else "the resource", namespace)
        raise ApiStatusError(response.status, f"{verb} {resource.name if resource else ''} failed "
                                              f"({response.status}): {message}")

    def confirm_storage(self, paths: list[str], within: float = STORAGE_CHECK_SECONDS) -> None:
        """Prove the API server reads its storage now: /readyz, then a quorum read of each object path.

        A verdict at a deadline is judged on what the watches delivered last. With etcd stopped the API
        server stays up and its watches stay open, silent: that state may be minutes old. A read without
        resourceVersion is served from etcd by quorum, never from the watch cache. /readyz is open to
        every authenticated user by default; a server that refuses it (403, 404) leaves the reads to decide.
        """
        until = time.monotonic() + within
        failure = None
        try:
            self.request("GET", "/readyz", what="GET /readyz", within=within, parse=False)
        except ApiStatusError as error:
            if error.status not in (403, 404):
                failure = f"/readyz: {error}"
        except PermissionDenied:
            pass
        except ClusterError as error:
            failure = f"/readyz: {error}"
        for path in paths if failure is None else ():
            try:
                self.request("GET", path, verb="get", what=f"GET {path}", within=until - time.monotonic())
            except ApiStatusError as error:
                if error.status != 404:
                    failure = str(error)
                    break
            except ClusterError as error:
                failure = str(error)
                break
        if failure is not None:
            failure = failure.removeprefix("could not verify: ")
            raise ClusterError(f"could not verify: the API server's storage is unavailable ({failure})")

    # --- kinds -----------------------------------------------------------------------------

    def resource_for(self, kind: str, api_version: str, where: str = "") -> Resource:
        """The Resource of (apiVersion, kind): built-in table first, then the group's discovery document."""
        builtin = BUILTIN_RESOURCES.get(kind)
        if builtin is not None and builtin.api_version == api_version:
            return builtin
        key = (api_version, kind)
        if key not in self._resources:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            try:
                document = self.request("GET", path)
            except ApiStatusError as error:
                if error.status == 404:
                    raise ManifestError(f"{where}: the cluster does not serve apiVersion {api_version}") from error
                raise
            group, _, version = api_version.rpartition("/")
            for entry in document.get("resources") or []:
                if "/" not in entry["name"]:
                    self._resources[(api_version, entry["kind"])] = Resource(
                        entry["kind"], group, version, entry["name"], bool(entry.get("namespaced")))
            if key not in self._resources:
                raise ManifestError(f"{where}: the cluster serves no kind {kind} in {api_version}")
        return self._resources[key]

    # --- reads -----------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> Object | None:
        try:
            return self.request("GET", resource.path(namespace, name), verb="get", resource=resource,
                                namespace=namespace)
        except ApiStatusError as error:
            if error.status == 404:
                return None
            raise

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Object], str]:
        """Every object (following `continue` pages) and the list's resourceVersion.

        Bounded: at most DEPLOY_GATE_MAX_LIST_PAGES pages and DEPLOY_GATE_MAX_LIST_ITEMS items (LimitExceeded),
        so a server whose `continue` tokens never end, or that answers millions of items, ends the run.
        """
        items: list[Object] = []
        token, version = None, ""
        most_pages, most_items = limit("DEPLOY_GATE_MAX_LIST_PAGES"), limit("DEPLOY_GATE_MAX_LIST_ITEMS")
        what = _describe("list", resource, namespace, "")
        for pages in range(1, most_pages + 1):
            query: list[tuple[str, Any]] = [("limit", LIST_PAGE)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if token:
                query.append(("continue", token))
            page = self.request("GET", resource.path(namespace), query, verb="list", resource=resource,
                                namespace=namespace, what=what if pages == 1 else
                                f"{what} (page {pages}, {len(items)} items so far)")
            found = page.get("items") or []
            if len(items) + len(found) > most_items:
                raise LimitExceeded(f"could not verify: {what}: more than DEPLOY_GATE_MAX_LIST_ITEMS={most_items} "
                                    f"items (page {pages})")
            for item in found:
                if isinstance(item, dict):  # anything else is held as malformed by the snapshot, naming it
                    item.setdefault("kind", resource.kind)  # list items omit kind and apiVersion
                    item.setdefault("apiVersion", resource.api_version)
                    without_bookkeeping(item)
                items.append(item)
            version = (page.get("metadata") or {}).get("resourceVersion", "")
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, version
        raise LimitExceeded(f"could not verify: {what}: still not complete after DEPLOY_GATE_MAX_LIST_PAGES="
                            f"{most_pages} pages ({len(items)} items; its `continue` tokens did not end)")

    def watch(self, resource: Resource, namespace: str | None, resource_version: str,
              timeout_seconds: int = WATCH_SECONDS) -> WatchStream:
        """Open a watch from resource_version; its events come until the server closes the stream."""
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("resourceVersion", resource_version),
                 ("timeoutSeconds", timeout_seconds)]
        response = self.request("GET", resource.path(namespace), query, stream=True, verb="watch",
                                resource=resource, namespace=namespace, timeout=(5, timeout_seconds + 10))
        return WatchStream(response, _describe("watch", resource, namespace, ""),
                           limit("DEPLOY_GATE_MAX_RESPONSE_BYTES"))

    def events_for(self, namespace: str, name: str, kind: str = "Pod", limit: int = 3) -> list[str]:
        """The last Warning events of one object, newest last ('Reason: message')."""
        resource = BUILTIN_RESOURCES["Event"]
        try:
            events, _ = self.list(resource, namespace, field_selector=
                                  f"involvedObject.name={name},involvedObject.kind={kind},type=Warning")
        except PermissionDenied:  # events are evidence, not a requirement: say what would show them
            return [f"(Warning events not shown: grant list on events in namespace {namespace})"]
        except ClusterError:
            return []
        return warning_lines(events, limit)

    def custom_resources(self, namespace: str, most: int = 3) -> list[str]:
        """Up to `most` custom resources in a namespace ('widget/foo') whose operators may create pods.

        Asked only when a Service's selector matches nothing and that would be final otherwise: one
        discovery pass plus one `limit=1` list per custom kind. A kind that may not be listed counts,
        since it may hold such a resource.
        """
        found: list[str] = []
        for group in (self.request("GET", "/apis") or {}).get("groups") or []:
            version = (group.get("preferredVersion") or {}).get("groupVersion") or ""
            if not version or is_builtin(version):
                continue
            for entry in (self.request("GET", f"/apis/{version}") or {}).get("resources") or []:
                if "/" in entry.get("name", "") or not entry.get("namespaced") or \
                        "list" not in (entry.get("verbs") or []) or not may_create_pods(version, entry.get("kind", "")):
                    continue
                resource = Resource(entry["kind"], group.get("name", ""), version.rpartition("/")[2], entry["name"])
                try:
                    page = self.request("GET", resource.path(namespace), [("limit", 1)], verb="list",
                                        resource=resource, namespace=namespace)
                except PermissionDenied:
                    found.append(f"{resource.name} (not readable: grant list to fail fast)")
                    continue
                except ApiStatusError:
                    continue
                found += [f"{resource.kind.lower()}/{dig(item, 'metadata', 'name')}"
                          for item in page.get("items") or []]
                if len(found) >= most:
                    return found[:most]
        return found

    # --- writes (probes) ---------------------------------------------------------------------

    def create(self, resource: Resource, namespace: str, body: Object) -> Object:
        return self.request("POST", resource.path(namespace), body=body, verb="create", resource=resource,
                            namespace=namespace)

    def delete(self, resource: Resource, namespace: str, name: str, grace_seconds: int = 0) -> None:
        try:
            self.request("DELETE", resource.path(namespace, name), body={"gracePeriodSeconds": grace_seconds},
                         verb="delete", resource=resource, namespace=namespace)
        except ApiStatusError as error:
            if error.status != 404:
                raise


class WatchStream:
    """The events ({type, object}) of one open watch request, and a way to end it from another thread."""

    def __init__(self, response: urllib3.HTTPResponse, what: str = "watch",
                 most: int = RESPONSE_LIMITS["DEPLOY_GATE_MAX_RESPONSE_BYTES"]) -> None:
        self.response, self.what, self.most = response, what, most
        connection = response.connection
        self._socket = connection.sock if connection is not None else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        buffer = bytearray()
        try:
            for chunk in self.response.stream(4096, decode_content=True):
                buffer += chunk
                if b"\n" not in chunk:
                    if len(buffer) > self.most:
                        self.response.close()  # unread data: the connection must not serve another request
                        raise LimitExceeded(f"could not verify: {self.what}: an event larger than "
                                            f"DEPLOY_GATE_MAX_RESPONSE_BYTES={self.most}")
                    continue
                *lines, rest = buffer.split(b"\n")
                buffer = bytearray(rest)
                for line in lines:
                    if line.strip():
                        event = parse_json(line, self.what)
                        if not isinstance(event, dict):
                            raise MalformedAnswer(f"{self.what}: a watch event that is not a JSON object")
                        if isinstance(event.get("object"), dict):
                            without_bookkeeping(event["object"])
                        yield event
        finally:
            self.response.release_conn()

    def interrupt(self) -> None:
        """Shut the stream's socket for reading: a thread blocked on it wakes at once, not at the server's timeout.

        The socket, not the response: urllib3's HTTPResponse.shutdown also drops TLS from the
        socket object, and a connection released to the pool meanwhile would then carry the next
        request, token included, in clear. The read fails, so urllib3 closes that connection.
        """
        if self.response.connection is None or not isinstance(self._socket, socket.socket):
            return  # released (its socket may serve another request now), or a proxy's TLS-in-TLS
        with contextlib.suppress(OSError):  # the server closed it already
            socket.socket.shutdown(self._socket, socket.SHUT_RD)


class Backoff:
    """Waits between retries that double from `initial` up to `cap`, each stretched by up to `jitter` times itself.

    Jitter spreads the retries of many watchers (and many runs) instead of sending them in step.
    """

    def __init__(self, initial: float = BACKOFF_INITIAL, cap: float = BACKOFF_CAP, jitter: float = 1.0) -> None:
        self.initial, self.cap, self.jitter = initial, cap, jitter
        self.current = initial

    def next(self) -> float:
        wait = self.current * (1 + self.jitter * random.random())
        self.current = min(self.current * 2, self.cap)
        return wait

    def reset(self) -> None:
        self.current = self.initial


@dataclass(frozen=True)
class WatchEvent:
    """What a watcher reports: a synced snapshot, one change, or a failure."""

    resource: Resource
    namespace: str | None
    type: str  # SYNCED (objects = the full list), ADDED, MODIFIED, DELETED, ERROR
    objects: tuple[Object, ...] = ()
    error: Exception | None = None


class Watcher(threading.Thread):
    """list + watch of one kind in one namespace, feeding a queue until stopped.

    Relists on 410 Gone (the resourceVersion expired) and re-watches when a
    stream ends. A relist after 410, and a watch after one that ended at once
    without an event, first wait a Backoff as client-go's reflector does: a server
    answering every request at once is asked at most every 0.8 to 1.6 s, then
    less often. When a request fails (the API server is unreachable) it reports
    DISCONNECTED once and retries with backoff, relisting (SYNCED) once the server
    answers. A permission or authentication error, or an answer past a limit
    (LimitExceeded), is reported once and ends it.
    """

    def __init__(self, cluster: Cluster, resource: Resource, namespace: str | None,
                 events: queue.Queue[WatchEvent], stop: threading.Event, label_selector: str | None = None,
                 go_on: threading.Event | None = None) -> None:
        super().__init__(daemon=True, name=f"watch-{resource.plural}-{namespace}")
        self.cluster, self.resource, self.namespace = cluster, resource, namespace
        self.events, self.stop_event, self.label_selector = events, stop, label_selector
        # Set when the list alone may not be the answer: until then, no watch is opened after it.
        self.go_on = go_on
        self.connections = 0  # watch requests opened (the benchmark counts them)
        self.retries = 0  # consecutive failed attempts; reset by any successful watch
        self.synced = False  # until the first list succeeds, a failure is the answer, not a blip
        self.stream: WatchStream | None = None  # the open watch, which end_watchers interrupts
        self.backoff = Backoff()  # before a relist after 410 Gone, and after a watch that ended at once
        self.unreachable = Backoff(0.2, 5.0, jitter=0.0)  # short: a server back from an outage is relisted soon
        self.failures = 0  # such misbehaviours in a row; reset by a watch that delivered or lasted
        self.failure = ""  # the last one, in words

    @property
    def trouble(self) -> str | None:
        """Why this watcher does not follow the server (TROUBLE_AFTER failures in a row), or None."""
        if self.failures < TROUBLE_AFTER:
            return None
        return f"{self.failure} ({self.failures} times in a row)"

    def _misbehaved(self, failure: str) -> bool:
        """Count a failure and wait the backoff before the next attempt; True if stopped meanwhile."""
        self.failures, self.failure = self.failures + 1, failure
        if TRACE:
            print(f"deploy-gate: trace: {failure}", file=sys.stderr, flush=True)
        return self.stop_event.wait(self.backoff.next())

    def _relist(self) -> str:
        items, version = self.cluster.list(self.resource, self.namespace, self.label_selector)
        self.events.put(WatchEvent(self.resource, self.namespace, "SYNCED", tuple(items)))
        self.synced = True
        return version

    def _may_go_on(self) -> bool:
        """Wait until told to watch (at once without `go_on`); False once stopped instead.

        The watch resumes from the list's resourceVersion, so nothing that
        changed meanwhile is missed; a run decided by its first lists opens none.
        """
        while self.go_on is not None and not self.go_on.wait(0.2):
            if self.stop_event.is_set():
                return False
        return not self.stop_event.is_set()

    def run(self) -> None:
        """Watch until stopped; an unexpected failure is reported on the queue, never printed by the thread."""
        try:
            self._watch()
        except Exception as error:  # the main thread reports it
            self._report_unless_stopped(ClusterError(
                f"watching {self.resource.name} failed: {type(error).__name__}: {error}"))

    def _report(self, error: Exception) -> None:
        """Put the error that ends this watcher on the queue: the main thread decides what it means for the run."""
        self.events.put(WatchEvent(self.resource, self.namespace, "ERROR", error=error))

    def _report_unless_stopped(self, error: Exception) -> None:
        """_report, unless stopped: the run is then exiting and needs nothing (nor the error of an interrupt)."""
        if not self.stop_event.is_set():
            self._report(error)

    def _follow(self, version: str) -> str | None:
        """One watch from `version`: its events go on the queue. The version to resume from, None to relist."""
        self.connections += 1
        opened, delivered = time.monotonic(), 0
        self.stream = self.cluster.watch(self.resource, self.namespace, version)
        if self.stop_event.is_set():  # stopped while it opened: end_watchers may not have seen it
            self.stream.interrupt()
        expired = False
        for event in self.stream:
            if self.stop_event.is_set():
                return version
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:  # expired: start again from a fresh list
                    expired = True
                    break
                raise ApiStatusError(int(obj.get("code") or 500), f"watch {self.resource.name}: {obj.get('message')}")
            delivered += 1
            version = (obj.get("metadata") or {}).get("resourceVersion", version)
            if kind == "BOOKMARK":
                continue
            obj.setdefault("kind", self.resource.kind)
            obj.setdefault("apiVersion", self.resource.api_version)
            self.events.put(WatchEvent(self.resource, self.namespace, kind, (obj,)))
        self.retries = 0
        healthy = delivered > 0 or time.monotonic() - opened >= MIN_WATCH_SECONDS
        if healthy:
            self.backoff.reset()
            self.failures = 0
        if (expired or not healthy) and not self.stop_event.is_set():
            what = _describe("watch", self.resource, self.namespace, "").removeprefix("watch ")
            self._misbehaved(f"the watch of {what} answered 410 Gone (resourceVersion expired)" if expired
                             else f"the watch of {what} ended at once without an event")
        return None if expired else version

    def _watch(self) -> None:
        """List and watch until stopped; which failures are retried, and which end this watcher, is decided here."""
        version: str | None = None
        while not self.stop_event.is_set():
            try:
                version = self._list_and_follow(version)
            except ApiStatusError as error:
                if error.status != 410:
                    self._report(error)
                    return
                version = None
                self._list_expired()
            except DeadlinePassed as error:  # the run decides by its own clock what a deadline means
                if not self.synced:
                    self._report_unless_stopped(error)
                return
            except (PermissionDenied, ManifestError, ConfigError, LimitExceeded, MalformedAnswer) as error:
                self._report_unless_stopped(error)
                return
            except (ClusterError, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                version = None
                if not self._outlast_outage(error):
                    return

    def _list_and_follow(self, version: str | None) -> str | None:
        """One pass: a list if there is no version to resume from, then one watch once allowed (_may_go_on).

        Returns the version to resume from, None to relist. A watch that ran proves the server answers again,
        so the outage backoff starts over.
        """
        if version is None:
            version = self._relist()
        if not self._may_go_on():
            return version  # stopped
        version = self._follow(version)
        if version is None:
            self._expired()
        else:
            self.unreachable.reset()
        return version

    def _list_expired(self) -> None:
        """410 Gone to a list: count it as a misbehaviour and back off before listing again, as client-go does."""
        self._expired()
        what = _describe("list", self.resource, self.namespace, "").removeprefix("list ")
        self._misbehaved(f"the API server answered 410 Gone to the list of {what}")

    def _outlast_outage(self, error: Exception) -> bool:
        """After a request failed for want of the server: True to relist now, False once this watcher has ended.

        Before the first list, the failure is the answer. After it, the API server is unreachable: say so once
        (verdicts wait while blind), then retry with backoff from a fresh list, which is both the state missed
        meanwhile and proof it is back; 30 failed retries in a row end the watcher.
        """
        if not self.synced:
            self._report(error if isinstance(error, ClusterError) else ClusterError(
                f"cannot reach the API server at {self.cluster.server}: {error}"))
            return False
        if self.retries == 0 and not self.stop_event.is_set():  # not end_watchers' interrupt
            self.events.put(WatchEvent(self.resource, self.namespace, "DISCONNECTED"))
        if self.stop_event.wait(self.unreachable.next()):
            return False
        self.retries += 1
        if self.retries > 30:
            self._report(ClusterError(
                f"lost the API server at {self.cluster.server} while watching {self.resource.name}"))
            return False
        return True

    def _expired(self) -> None:
        """410 Gone: the resourceVersion is older than the server keeps; the next pass lists afresh."""
        if TRACE:
            print(f"deploy-gate: trace: {self.resource.name} in {self.namespace}: 410 Gone, relisting",
                  file=sys.stderr, flush=True)


def end_watchers(watchers: list[Watcher], within: float = 2.0) -> None:
    """Stop the watchers and wait (at most `within` seconds in all) until their threads have ended.

    A thread still using OpenSSL while the process exits races OpenSSL's exit-time cleanup,
    which can abort the process ("double free or corruption", openssl/openssl#17469) after
    its verdict was printed. So the run ends its watchers before it returns: each one waiting
    to watch is woken, and each open stream is interrupted rather than left to the server's
    timeout. Only a request the server has not answered yet can outlast the bound.
    """
    for watcher in watchers:
        watcher.stop_event.set()
        if watcher.go_on is not None:
            watcher.go_on.set()  # wakes _may_go_on, which then sees the stop
        if watcher.stream is not None:
            watcher.stream.interrupt()
    deadline = time.monotonic() + within
    for watcher in watchers:
        if watcher.is_alive():
            watcher.join(max(deadline - time.monotonic(), 0))
