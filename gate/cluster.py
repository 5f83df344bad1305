"""The only module that talks to the API server: config, requests, list+watch.

Objects come back as plain dicts (the API's JSON), the same shape manifests
have, so the pure core never knows where an object came from. Errors become
the small exception family of gate.errors, chaining the cause.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from gate.errors import ClusterError, ConfigError, ManifestError, PermissionDenied
from gate.objects import Object

TRACE = bool(os.environ.get("DEPLOY_GATE_TRACE"))  # timing lines for the benchmark (bench/README.md)
WATCH_SECONDS = 60  # server-side timeout of one watch request; a new one resumes from the last resourceVersion
REQUEST_TIMEOUT = (5, 30)  # connect, read (non-watch requests)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def without_bookkeeping(obj: Object) -> Object:
    """Drop what only apply machinery reads: managedFields and kubectl's last-applied copy of the object.

    They are 35-50% of a live object's JSON; a verify run at N=1,000 holds
    thousands of objects, and no check reads either field.
    """
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    return obj


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API: group, version, plural."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """How RBAC and kubectl name it: plural.group ('deployments.apps', 'pods')."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        return base + (f"/{quote(name)}" if name else "")


BUILTIN_RESOURCES = {r.kind: r for r in (
    Resource("Pod", "", "v1", "pods"),
    Resource("Service", "", "v1", "services"),
    Resource("Namespace", "", "v1", "namespaces", namespaced=False),
    Resource("Event", "", "v1", "events"),
    Resource("ConfigMap", "", "v1", "configmaps"),
    Resource("Secret", "", "v1", "secrets"),
    Resource("ServiceAccount", "", "v1", "serviceaccounts"),
    Resource("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    Resource("ReplicationController", "", "v1", "replicationcontrollers"),
    Resource("Deployment", "apps", "v1", "deployments"),
    Resource("StatefulSet", "apps", "v1", "statefulsets"),
    Resource("DaemonSet", "apps", "v1", "daemonsets"),
    Resource("ReplicaSet", "apps", "v1", "replicasets"),
    Resource("Job", "batch", "v1", "jobs"),
    Resource("CronJob", "batch", "v1", "cronjobs"),
    Resource("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    Resource("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"),
    Resource("Ingress", "networking.k8s.io", "v1", "ingresses"),
    Resource("Role", "rbac.authorization.k8s.io", "v1", "roles"),
    Resource("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings"),
    Resource("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False),
    Resource("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced=False),
    Resource("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
    Resource("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    Resource("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions",
             namespaced=False),
)}


class ApiStatusError(ClusterError):
    """A non-2xx answer that is not a permission problem; keeps the HTTP status for callers."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class Cluster:
    """An authenticated connection to one cluster (kubeconfig context or in-cluster config)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        configuration = k8s_client.Configuration()
        self.namespace = "default"
        in_cluster = kubeconfig is None and context is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST")) \
            and not os.environ.get("KUBECONFIG")
        try:
            if in_cluster:
                k8s_config.load_incluster_config(client_configuration=configuration)
                try:
                    with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as f:
                        self.namespace = f.read().strip() or "default"
                except OSError:
                    pass
            else:
                k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                            client_configuration=configuration)
                contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
                if context:
                    active = next((c for c in contexts if c["name"] == context), active)
                self.namespace = (active.get("context") or {}).get("namespace") or "default"
        except Exception as error:  # the client's loader raises anything (YAMLError, KeyError) on a broken file
            where = "in-cluster service account" if in_cluster else \
                kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ConfigError(f"cannot load the cluster configuration ({where}): {reason}") from error
        if not configuration.host or "://" not in configuration.host:
            raise ConfigError(f"cannot load the cluster configuration ({kubeconfig or 'kubeconfig'}): the context "
                              f"names no https:// server, got {configuration.host!r}")
        configuration.retries = False
        self.server = configuration.host
        self.api = k8s_client.ApiClient(configuration)
        self._resources: dict[tuple[str, str], Resource] = {}
        self.requests = 0  # for the benchmark: requests sent by this process

    # --- requests --------------------------------------------------------------------------

    def request(self, method: str, path: str, query: list[tuple[str, Any]] | None = None, body: Any = None,
                stream: bool = False, timeout: Any = REQUEST_TIMEOUT, verb: str | None = None,
                resource: Resource | None = None, namespace: str | None = None) -> Any:
        """Send one request; return parsed JSON (or the raw response when stream=True)."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        serialized = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                              body=body, auth_settings=["BearerToken"])
        self.requests += 1
        if self.requests == 1 and TRACE:
            print(f"deploy-gate: trace: first API request at {time.time():.6f} after {time.process_time():.3f} s "
                  "of CPU", file=sys.stderr, flush=True)
        try:
            response = self.api.call_api(*serialized[:4], _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise ClusterError(f"cannot reach the API server at {self.server}: {reason}") from error
        if response.status >= 400:
            self._raise_for(response, verb or method.lower(), resource, namespace)
        if stream:
            return response.response
        data = response.read()
        return json.loads(data) if data else None

    def _raise_for(self, response: Any, verb: str, resource: Resource | None, namespace: str | None) -> None:
        try:
            status = json.loads(response.read() or b"{}")
        except ValueError:
            status = {}
        message = status.get("message") or response.reason
        if response.status == 401:
            raise ClusterError(f"authentication to {self.server} failed (401): check the kubeconfig's credentials")
        if response.status == 403:
            raise PermissionDenied(verb, resource.name if resource else "the resource", namespace)
        raise ApiStatusError(response.status, f"{verb} {resource.name if resource else ''} failed "
                                              f"({response.status}): {message}")

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
        """Every object (following `continue` pages) and the list's resourceVersion."""
        items: list[Object] = []
        token, version = None, ""
        while True:
            query: list[tuple[str, Any]] = [("limit", 500)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if token:
                query.append(("continue", token))
            page = self.request("GET", resource.path(namespace), query, verb="list", resource=resource,
                                namespace=namespace)
            for item in page.get("items") or []:
                item.setdefault("kind", resource.kind)  # list items omit kind and apiVersion
                item.setdefault("apiVersion", resource.api_version)
                items.append(without_bookkeeping(item))
            version = (page.get("metadata") or {}).get("resourceVersion", "")
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, version

    def watch(self, resource: Resource, namespace: str | None, resource_version: str,
              timeout_seconds: int = WATCH_SECONDS) -> Iterator[dict[str, Any]]:
        """Watch events ({type, object}) from resource_version until the server closes the stream."""
        query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("resourceVersion", resource_version),
                 ("timeoutSeconds", timeout_seconds)]
        response = self.request("GET", resource.path(namespace), query, stream=True, verb="watch",
                                resource=resource, namespace=namespace, timeout=(5, timeout_seconds + 10))
        buffer = b""
        try:
            for chunk in response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        if isinstance(event.get("object"), dict):
                            without_bookkeeping(event["object"])
                        yield event
        finally:
            response.release_conn()

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
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [f"{e.get('reason')}: {e.get('message', '').strip()}" +
                (f" (x{e['count']})" if (e.get("count") or 1) > 1 else "") for e in events[-limit:]]

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

    Relists on 410 Gone (the resourceVersion expired) and re-watches after a
    dropped connection, with a short backoff; a permission or authentication
    error is reported once and ends the watcher.
    """

    def __init__(self, cluster: Cluster, resource: Resource, namespace: str | None,
                 events: queue.Queue[WatchEvent], stop: threading.Event, label_selector: str | None = None) -> None:
        super().__init__(daemon=True, name=f"watch-{resource.plural}-{namespace}")
        self.cluster, self.resource, self.namespace = cluster, resource, namespace
        self.events, self.stop_event, self.label_selector = events, stop, label_selector
        self.connections = 0  # watch requests opened (the benchmark counts them)
        self.retries = 0  # consecutive failed attempts; reset by any successful watch
        self.synced = False  # until the first list succeeds, a failure is the answer, not a blip

    def _relist(self) -> str:
        items, version = self.cluster.list(self.resource, self.namespace, self.label_selector)
        self.events.put(WatchEvent(self.resource, self.namespace, "SYNCED", tuple(items)))
        self.synced = True
        return version

    def run(self) -> None:
        backoff = 0.2
        version: str | None = None
        while not self.stop_event.is_set():
            try:
                if version is None:
                    version = self._relist()
                self.connections += 1
                for event in self.cluster.watch(self.resource, self.namespace, version):
                    if self.stop_event.is_set():
                        return
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:  # expired: start again from a fresh list
                            version = None
                            break
                        raise ApiStatusError(int(obj.get("code") or 500),
                                             f"watch {self.resource.name}: {obj.get('message')}")
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    if kind == "BOOKMARK":
                        continue
                    obj.setdefault("kind", self.resource.kind)
                    obj.setdefault("apiVersion", self.resource.api_version)
                    self.events.put(WatchEvent(self.resource, self.namespace, kind, (obj,)))
                backoff, self.retries = 0.2, 0
            except ApiStatusError as error:
                if error.status == 410:
                    version = None
                    continue
                self.events.put(WatchEvent(self.resource, self.namespace, "ERROR", error=error))
                return
            except (PermissionDenied, ManifestError) as error:
                self.events.put(WatchEvent(self.resource, self.namespace, "ERROR", error=error))
                return
            except (ClusterError, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                if not self.synced:
                    failure = error if isinstance(error, ClusterError) else ClusterError(
                        f"cannot reach the API server at {self.cluster.server}: {error}")
                    self.events.put(WatchEvent(self.resource, self.namespace, "ERROR", error=failure))
                    return
                # A dropped connection or a cut stream: resume from the last resourceVersion.
                if self.stop_event.wait(backoff):
                    return
                backoff, self.retries = min(backoff * 2, 5.0), self.retries + 1
                if self.retries > 30:
                    self.events.put(WatchEvent(self.resource, self.namespace, "ERROR", error=ClusterError(
                        f"lost the API server at {self.cluster.server} while watching {self.resource.name}")))
                    return

