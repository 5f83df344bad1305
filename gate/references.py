"""What an object names by reference: pure extraction, no judgement.

Ingress and Gateway API routes name backend Services and ports; pod templates name ConfigMaps,
Secrets, a ServiceAccount and PersistentVolumeClaims; a HorizontalPodAutoscaler names the workload
it scales. A name that does not exist is predictable trouble: a 503 at the edge, a pod stuck in
CreateContainerConfigError, an autoscaler that scales nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gate.kinds import spec_for
from gate.objects import FieldPath, Object, dig, pod_template, template_path


@dataclass(frozen=True)
class Reference:
    """One name one object gives another: `kind/name` in `namespace`; `path` is the field holding the name."""

    kind: str
    namespace: str
    name: str
    path: FieldPath
    port: int | str | None = None  # a Service backend's port (number or name)
    optional: bool = False  # the pod starts without it (optional: true)

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}" + (f" port {self.port}" if self.port is not None else "")


def references(obj: Object, namespace: str) -> list[Reference]:
    """Every reference obj makes, in the order written."""
    known = spec_for(str(obj.get("kind", "")), obj.get("apiVersion"))
    if known is not None and known.key == ("networking.k8s.io", "Ingress"):
        return list(_ingress_backends(obj, namespace))
    if known is not None and known.routes:
        return list(_route_backends(obj, namespace))
    if obj.get("kind") == "HorizontalPodAutoscaler":
        target = dig(obj, "spec", "scaleTargetRef")
        if isinstance(target, dict) and isinstance(target.get("name"), str):
            return [Reference(str(target.get("kind", "")), namespace, target["name"],
                              ("spec", "scaleTargetRef", "name"))]
        return []
    if pod_template(obj) is not None:
        return list(_pod_references(obj, namespace))
    return []


def _ingress_backends(obj: Object, namespace: str) -> Iterator[Reference]:
    def backend(service: object, path: FieldPath) -> Iterator[Reference]:
        if isinstance(service, dict) and isinstance(service.get("name"), str):
            port = service.get("port") or {}
            number = port.get("number") if isinstance(port, dict) else None
            yield Reference("Service", namespace, service["name"], (*path, "name"),
                            number if number is not None else (port.get("name") if isinstance(port, dict) else None))

    yield from backend(dig(obj, "spec", "defaultBackend", "service"), ("spec", "defaultBackend", "service"))
    for r, rule in enumerate(dig(obj, "spec", "rules") or []):
        for p, entry in enumerate(dig(rule, "http", "paths") or []):
            yield from backend(dig(entry, "backend", "service"),
                               ("spec", "rules", r, "http", "paths", p, "backend", "service"))


def _route_backends(obj: Object, namespace: str) -> Iterator[Reference]:
    for r, rule in enumerate(dig(obj, "spec", "rules") or []):
        for b, ref in enumerate(dig(rule, "backendRefs") or []):
            if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
                continue
            if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core"):
                continue  # another kind of backend: not ours to judge
            yield Reference("Service", str(ref.get("namespace") or namespace), ref["name"],
                            ("spec", "rules", r, "backendRefs", b, "name"), ref.get("port"))


def _pod_references(workload: Object, namespace: str) -> Iterator[Reference]:
    base: FieldPath = (*(template_path(workload) or ()), "spec")
    spec = dig(pod_template(workload), "spec") or {}
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if isinstance(account, str) and account != "default":  # every namespace has `default`
        field = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
        yield Reference("ServiceAccount", namespace, account, (*base, field))
    for v, volume in enumerate(spec.get("volumes") or []):
        yield from _volume_references(volume, namespace, (*base, "volumes", v))
    for i, secret in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(secret, dict) and isinstance(secret.get("name"), str):
            yield Reference("Secret", namespace, secret["name"], (*base, "imagePullSecrets", i, "name"))
    for group in ("initContainers", "containers"):
        for c, container in enumerate(spec.get(group) or []):
            if isinstance(container, dict):
                yield from _env_references(container, namespace, (*base, group, c))


def _volume_references(volume: object, namespace: str, path: FieldPath) -> Iterator[Reference]:
    if not isinstance(volume, dict):
        return
    sources = [(volume, path)] + [(source, (*path, "projected", "sources", s))
                                  for s, source in enumerate(dig(volume, "projected", "sources") or [])]
    for source, at in sources:
        if not isinstance(source, dict):
            continue
        for field, kind, name_key in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName"),
                                      ("persistentVolumeClaim", "PersistentVolumeClaim", "claimName")):
            entry = source.get(field)
            key = name_key if isinstance(entry, dict) and name_key in entry else "name"
            name = entry.get(key) if isinstance(entry, dict) else None
            if isinstance(name, str):
                yield Reference(kind, namespace, name, (*at, field, key), optional=bool(entry.get("optional")))


def _env_references(container: Object, namespace: str, path: FieldPath) -> Iterator[Reference]:
    for e, source in enumerate(container.get("envFrom") or []):
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            entry = source.get(field) if isinstance(source, dict) else None
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                yield Reference(kind, namespace, entry["name"], (*path, "envFrom", e, field, "name"),
                                optional=bool(entry.get("optional")))
    for e, variable in enumerate(container.get("env") or []):
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            entry = dig(variable, "valueFrom", field)
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                yield Reference(kind, namespace, entry["name"], (*path, "env", e, "valueFrom", field, "name"),
                                optional=bool(entry.get("optional")))
