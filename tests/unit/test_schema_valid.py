"""Valid Kubernetes loads: an object built from gate/schema.py's own tree, a valid value for every field it
constrains, and real objects the schema once refused (a projected Secret's `name`, GA kinds of 1.33 and 1.34).

The comparison of the schema's field names and types with the upstream API is tests/upstream (it needs the Go
module proxy); this is its hermetic half: no field the schema declares may reject every valid value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import schema
from gate.errors import ManifestError
from gate.kinds import KINDS
from gate.manifests import load

# Valid strings, tried in order: the first a Str's pattern and length take is its value.
STRINGS = ("web", "v1.2_rc-3", "http", "")


def _string(spec: schema.Str, variant: int) -> str:
    accepted = [text for text in STRINGS if _accepts(spec, text)]
    assert accepted, f"no valid value for {spec.what}"
    return accepted[variant % len(accepted)]


def _accepts(spec: schema.Spec, value: Any) -> bool:
    try:
        spec.check(value, (), lambda _: None)
    except schema.Invalid:
        return False
    return True


def valid(spec: schema.Spec, variant: int) -> Any:
    """A valid value for spec; variant picks among the alternatives (a port number or a name, an operator)."""
    return VALUES[type(spec)](spec, variant)


def _valid_map(spec: schema.Map, variant: int) -> dict[Any, Any]:
    """Every declared field; a field the map's own rule refuses in combination (endPort with a named port,
    values with Exists) is left out, as a valid manifest leaves it out."""
    value: dict[Any, Any] = {name: valid(child, variant) for name, child in spec.fields.items()}
    if spec.keys is not None:
        value[valid(spec.keys, variant)] = valid(spec.values, variant) if spec.values else "x"
    while True:
        try:
            spec.check(value, (), lambda _: None)
            return value
        except schema.Invalid as invalid:
            dropped = invalid.path[0] if invalid.path else None
            assert dropped in value and dropped not in spec.required, invalid.message
            del value[dropped]


VALUES: dict[type, Any] = {
    schema.Map: _valid_map,
    schema.ListOf: lambda spec, variant: [valid(spec.item, variant)],
    schema.Either: lambda spec, variant: valid(spec.string if variant % 2 else spec.number, variant),
    schema.Enum: lambda spec, variant: spec.values[variant % len(spec.values)],
    schema.Int: lambda spec, _: min(max(spec.low, 8080), spec.high),
    schema.LabelKey: lambda _, variant: ("app", "app.kubernetes.io/name")[variant % 2],
    schema.Cidr: lambda _, variant: ("10.0.0.0/16", "fd00::/64")[variant % 2],
    schema.Timestamp: lambda _, __: "2026-01-31T12:00:00Z",
    schema.Bool: lambda _, variant: bool(variant % 2),
    schema.Str: _string,
}


def merge(target: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, item in more.items():
        if isinstance(item, dict) and isinstance(target.get(key), dict):
            merge(target[key], item)
        else:
            target[key] = item
    return target


def _every_schema() -> list[Any]:
    cases = [(KINDS[key].resource.api_version, key[1], specs) for key, specs in schema.KIND_SCHEMAS.items()]
    return [pytest.param(version, kind, specs, variant, id=f"{kind}-{variant}")
            for version, kind, specs in cases for variant in range(4)]


@pytest.mark.parametrize(("api_version", "kind", "specs", "variant"), _every_schema())
def test_an_object_with_every_constrained_field_valid_loads(tmp_path: Path, api_version: str, kind: str,
                                                            specs: list[schema.Spec], variant: int) -> None:
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    for spec in specs:
        merge(obj, valid(spec, variant))
    obj["metadata"]["name"] = "web"
    obj["metadata"].pop("generateName")
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(obj))
    [manifest] = load([str(path)]).manifests
    assert manifest.obj == obj


def _object(api_version: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "web"}, **fields}


POD_SPEC = {"containers": [{"name": "main", "image": "busybox:1.36"}]}
REAL_OBJECTS = [
    pytest.param(_object("v1", "Pod", spec={**POD_SPEC, "volumes": [{"name": "v", "projected": {"sources": [
        {"secret": {"name": "tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"configMap": {"name": "cfg"}}, {"serviceAccountToken": {"path": "token"}}]}}]}), id="projected-secret-name"),
    pytest.param(_object("networking.k8s.io/v1", "ServiceCIDR", spec={"cidrs": ["10.96.0.0/16"]}), id="servicecidr"),
    pytest.param(_object("networking.k8s.io/v1beta1", "ServiceCIDR", spec={"cidrs": ["10.96.0.0/16"]}),
                 id="servicecidr-beta"),
    pytest.param(_object("networking.k8s.io/v1", "IPAddress", spec={"parentRef": {"resource": "services",
                                                                                  "name": "web"}}), id="ipaddress"),
    pytest.param(_object("storage.k8s.io/v1", "VolumeAttributesClass", driverName="ebs.csi.aws.com",
                         parameters={"iops": "3000"}), id="volumeattributesclass"),
    pytest.param(_object("storage.k8s.io/v1beta1", "VolumeAttributesClass", driverName="x"), id="vac-beta"),
    pytest.param(_object("admissionregistration.k8s.io/v1beta1", "MutatingAdmissionPolicy"), id="map-beta"),
    pytest.param(_object("coordination.k8s.io/v1beta1", "LeaseCandidate"), id="leasecandidate"),
    pytest.param(_object("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"), id="flowschema-beta3"),
    pytest.param(_object("v1", "Service", metadata={"name": "web", "labels": {
        "empty": "", "dotted": "a.b-c_d", "long": "x" * 63, "example.com/x": "Web"}}), id="label-values-at-limits"),
]


@pytest.mark.parametrize("obj", REAL_OBJECTS)
def test_valid_kubernetes_objects_load(tmp_path: Path, obj: dict[str, Any]) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(obj))
    assert load([str(path)]).manifests[0].obj == obj


@pytest.mark.parametrize(("labels", "shown"), [
    ({"tier": "back end"}, "'back end'"), ({"tier": "back~end"}, "'back~end'"), ({"tier": "-web"}, "'-web'"),
    ({"tier": "web."}, "'web.'"), ({"tier": "x" * 64}, "'xxxx"),
])
@pytest.mark.parametrize("place", ["metadata", "template", "match-labels", "service-selector", "custom-template"])
def test_label_values_the_api_server_rejects_are_errors(tmp_path: Path, labels: dict[str, str], shown: str,
                                                        place: str) -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
    workload = _object("apps/v1", "Deployment", spec={"selector": {"matchLabels": {"app": "web"}},
                                                      "template": template})
    if place == "metadata":
        workload["metadata"]["labels"] = labels
    elif place in ("template", "custom-template"):
        template["metadata"]["labels"].update(labels)
        workload["apiVersion"] = "apps.kruise.io/v1alpha1" if place == "custom-template" else "apps/v1"
    elif place == "match-labels":
        workload["spec"]["selector"]["matchLabels"].update(labels)
    else:
        workload = _object("v1", "Service", spec={"selector": labels, "ports": [{"port": 80}]})
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(workload))
    with pytest.raises(ManifestError, match=r"labels?\.tier|selector.*tier|\['tier'\]") as error:
        load([str(path)])
    assert "expected a label value" in str(error.value) and shown in str(error.value)
