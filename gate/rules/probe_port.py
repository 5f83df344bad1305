"""Lint rule `probe-port`: a probe that names a port its own container does not declare.

The kubelet resolves a probe's port name (`httpGet.port`, `tcpSocket.port`; `grpc.port` is a number only) in
the ports of the probe's own container, nowhere else (k8s.io/kubernetes pkg/probe `ResolveContainerPort`,
`findPortByName`). An unknown name makes every run of the probe an error, whose result the kubelet's probe
worker discards: the probe keeps its initial state. A readiness probe starts as failed, so the container never
becomes Ready; a startup probe starts as unknown, so the container never counts as started (its other probes
never run, and a sidecar holds back the containers after it); a liveness probe starts as passed, so it never
acts on a hung container. A port written as a quoted number, as no port name (IANA_SVC_NAME: lower case), or
as an unfilled placeholder never gets that far: the API server rejects the object (`ValidatePortNumOrName`), and
so does gate/schema.py, before any rule runs (exit 2). A number needs no declaration (an app may listen on a port
it does not declare), so a numeric port is never checked.

Fails: the readiness probe names `web`; container `app` declares only `http`.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: catalog, namespace: shop}
    spec:
      selector:
        matchLabels: {app: catalog}
      template:
        metadata:
          labels: {app: catalog}
        spec:
          containers:
            - name: app
              image: registry.example/catalog:2.0
              ports: [{name: http, containerPort: 8080}]
              readinessProbe:
                httpGet: {path: /ready, port: web}

Passes: the readiness probe names the container's own port.

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: catalog, namespace: shop}
    spec:
      selector:
        matchLabels: {app: catalog}
      template:
        metadata:
          labels: {app: catalog}
        spec:
          containers:
            - name: app
              image: registry.example/catalog:2.0
              ports: [{name: http, containerPort: 8080}]
              readinessProbe:
                httpGet: {path: /ready, port: http}
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gate.config import GateConfig
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.location import Location, known
from gate.objects import FieldPath, Object, ObjectRef, dig, dotted, pod_template, template_path
from gate.rules.base import CatalogRule, finding

ID = "probe-port"
SEVERITY = Severity.ERROR
SUMMARY = (
    "A container's readiness, liveness or startup probe must name a port that container declares; the kubelet "
    "looks the name up in that container's ports only."
)
FIX = (
    "Declare the port under that container's ports by the name the probe uses, or give the probe the port's "
    "number."
)
HELP = (
    "a readiness, liveness or startup probe (`httpGet.port`, `tcpSocket.port`) of a container, native sidecars "
    "(init containers with `restartPolicy: Always`) included, names a port that container does not declare in "
    "`ports[].name`. The kubelet looks the name up in the probe's own container only (a port another container "
    "of the pod declares does not count) and discards every run as an error, so the probe keeps its first "
    "state: a readiness probe never passes (no ready endpoints), a startup probe never lets the container count "
    "as started, a liveness probe never restarts it. A quoted number (`port: \"8080\"`), a name that is not an "
    "IANA_SVC_NAME (`HTTP`) or an unfilled placeholder (`${PORT}`) is a manifest error before any rule runs "
    "(exit 2), as for a Service's targetPort: the API server rejects the object. A number is never checked (an "
    "app may listen on a port it does not declare)"
)

PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
HANDLERS = ("httpGet", "tcpSocket")  # grpc.port is an int32: never a name
# What the kubelet's discarded runs leave each probe at (its probe worker's initial value).
CONSEQUENCE = {
    "readinessProbe": "the container never becomes Ready and its pods are never ready endpoints of a Service",
    "livenessProbe": "the liveness check never acts: a hung container is never restarted",
    "startupProbe": "the container never counts as started: its readiness and liveness probes never run and it "
                    "never becomes Ready",
}
SIDECAR_STARTUP = "; as a sidecar, it holds back every container after it"


@dataclass(frozen=True)
class ProbedPort:
    """A port name one probe of one container gives, and where it was written."""

    container: Object
    container_path: FieldPath  # ("spec", "template", "spec", "containers", 0)
    probe: str
    handler: str
    name: str

    @property
    def container_name(self) -> str:
        return str(self.container.get("name", "?"))

    @property
    def path(self) -> FieldPath:
        return (*self.container_path, self.probe, self.handler, "port")

    @property
    def sidecar(self) -> bool:
        return "initContainers" in self.container_path

    @property
    def declared(self) -> list[str]:
        return port_names(self.container)

    def where(self) -> str:
        return f"the {self.probe}.{self.handler}.port of container {self.container_name}"


def check(inventory: Inventory, _: GateConfig) -> list[Finding]:
    """Every probe port name of every pod template resolves in its own container's ports."""
    findings = []
    for workload in inventory.workloads():
        template, path = pod_template(workload), template_path(workload)
        if template is None or path is None:
            continue
        ref = inventory.ref(workload)
        title = f"{ref.name} probe ports resolve"
        probed = list(probed_ports(template, (*path, "spec")))
        failures = [found for port in probed if (found := _finding(
            ref, title, port, template, inventory.location(workload, *port.path),
            inventory.location(workload, *port.container_path, "ports")))]
        findings += failures
        if probed and not failures:
            names = ", ".join(sorted({port.name for port in probed}))
            findings.append(finding(RULE, ref, title, Outcome.PASSED,
                                    f"{ref}: every probe port name ({names}) is declared by its own container",
                                    locations=known(inventory.location(workload, *path))))
    return findings


def probed_ports(template: Object, spec_path: FieldPath) -> Iterator[ProbedPort]:
    """The port names the probes of the template's containers give: regular containers and native sidecars.

    An init container that is no sidecar cannot have probes (the API server rejects them), and an ephemeral
    container never has any.
    """
    spec = dig(template, "spec")
    for field in ("containers", "initContainers"):
        listed = dig(spec, field)
        for index, container in enumerate(listed if isinstance(listed, list) else []):
            if not isinstance(container, dict) or (field == "initContainers" and
                                                   container.get("restartPolicy") != "Always"):
                continue
            for probe in PROBES:
                for handler in HANDLERS:
                    port = dig(container, probe, handler, "port")
                    if isinstance(port, str):
                        yield ProbedPort(container, (*spec_path, field, index), probe, handler, port)


def port_names(container: Object) -> list[str]:
    ports = container.get("ports")
    return [str(port["name"]) for port in (ports if isinstance(ports, list) else [])
            if isinstance(port, dict) and port.get("name")]


def _finding(ref: ObjectRef, title: str, port: ProbedPort, template: Object, at: Location | None,
             ports_at: Location | None) -> Finding | None:
    """The failure of one probe port name; None when it resolves.

    The name is a valid port name (gate.schema rejected every other string before any rule ran).

    at: where the probe's port is written; ports_at: where its container's ports are (or the container).
    """
    declared = port.declared
    if port.name in declared:
        return None
    it_declares = f"it declares {', '.join(declared)}" if declared else "it declares no named port"
    where = f"in the manifest at {at}" if at else f"in the manifest of {ref}"
    under = f"under {dotted(port.path[:-1])}"
    consequence = CONSEQUENCE[port.probe] + (SIDECAR_STARTUP if port.sidecar and port.probe == "startupProbe"
                                             else "")
    elsewhere = _declared_elsewhere(port, template)
    also = (f"; container {elsewhere[0]} declares {port.name!r}, but the kubelet looks only in the probe's own "
            "container") if elsewhere else ""
    message = (f"{ref}: {port.where()} names port {port.name!r}, which container {port.container_name} does not "
               f"declare ({it_declares}){also}; the kubelet errors on every run of the probe and discards it, so "
               f"{consequence}")
    number = f"port: {elsewhere[1]} (the number container {elsewhere[0]} declares as {port.name!r})" \
        if elsewhere else "port to the number the app listens on"
    declare_at = f"in the manifest at {ports_at}" if ports_at else where
    fix = (f"{declare_at}, add {{name: {port.name}, containerPort: <port>}} to the ports of container "
           f"{port.container_name}; or {where}, {under}, set {number}")
    return finding(RULE, ref, title, Outcome.FAILED, message, fix=(fix,),
                   locations=known(at) + tuple(loc for loc in known(ports_at) if loc != at))


def _declared_elsewhere(port: ProbedPort, template: Object) -> tuple[str, object] | None:
    """Another container of the pod that declares the name: (its name, the containerPort), or None."""
    spec = dig(template, "spec")
    for field in ("containers", "initContainers"):
        listed = dig(spec, field)
        for container in listed if isinstance(listed, list) else []:
            if not isinstance(container, dict) or container is port.container:
                continue
            for declared in container.get("ports") or []:
                if isinstance(declared, dict) and declared.get("name") == port.name:
                    return str(container.get("name", "?")), declared.get("containerPort")
    return None


RULE = CatalogRule(ID, SEVERITY, SUMMARY, FIX, HELP, __doc__ or "", check)
