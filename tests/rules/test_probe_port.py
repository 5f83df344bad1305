"""probe-port: a probe's port name resolves only in its own container's ports (the kubelet's findPortByName).

Every kind with a pod template (from gate/kinds.py, not a list here), native sidecars, another container's
port, the three probe types. The forms the API server rejects (a quoted number, upper case, a placeholder) are
schema errors before any rule runs: tests/unit/test_hostile_input.py, probe-port-*.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ManifestError
from gate.findings import Finding, Outcome, Severity
from gate.kinds import KINDS
from gate.rules import probe_port
from tests.testing import lint as small
from tests.testing import real_world

RULE = "probe-port"


def probed(port: object, probe: str = "readinessProbe", handler: str = "httpGet", name: str = "app",
           ports: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"port": port, **({"path": "/ready"} if handler == "httpGet" else {})}
    return real_world.container(name, ports, **{probe: {handler: action}}, **extra)


def findings(tmp_path: Path, *objects: dict[str, Any]) -> list[Finding]:
    return [f for f in real_world.lint_set(tmp_path, list(objects)) if f.rule == RULE]


def failed(tmp_path: Path, *objects: dict[str, Any]) -> list[Finding]:
    return [f for f in findings(tmp_path, *objects) if f.outcome is Outcome.FAILED]


def with_containers(obj: dict[str, Any], containers: list[dict[str, Any]]) -> dict[str, Any]:
    """obj with its pod template's containers replaced, wherever the kind keeps its template."""
    spec = KINDS[(obj["apiVersion"].rpartition("/")[0], obj["kind"])].template
    assert spec is not None
    template = obj
    for step in spec:
        template = template[step]
    template["spec"]["containers"] = containers
    return obj


TEMPLATE_KINDS = sorted((group, kind) for (group, kind), spec in KINDS.items() if spec.template is not None)


def of_kind(group: str, kind: str) -> dict[str, Any]:
    spec = KINDS[(group, kind)]
    obj: dict[str, Any] = {"apiVersion": spec.resource.api_version, "kind": kind,
                           "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}}}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}
    if spec.template == ():
        obj["spec"] = template["spec"]
        return obj
    assert spec.template is not None
    node = obj
    for step in spec.template[:-1]:
        node = node.setdefault(step, {})
    node[spec.template[-1]] = template
    if spec.selector == "LabelSelector":
        obj["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    elif spec.selector == "labels":
        obj["spec"]["selector"] = {"app": "web"}
    if kind == "CronJob":
        obj["spec"]["schedule"] = "0 * * * *"
    if kind == "StatefulSet":
        obj["spec"]["serviceName"] = "web"
    return obj


def test_every_kind_with_a_pod_template_is_covered() -> None:
    kinds = {kind for _, kind in TEMPLATE_KINDS}
    assert {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController",
            "Rollout"} <= kinds


@pytest.mark.parametrize(("group", "kind"), TEMPLATE_KINDS, ids=lambda value: value or "core")
def test_an_undeclared_name_fails_in_every_kind_with_a_pod_template(tmp_path: Path, group: str, kind: str) -> None:
    [finding] = failed(tmp_path, with_containers(of_kind(group, kind), [probed("web")]))
    assert finding.severity is Severity.ERROR
    assert finding.subject.kind == kind
    assert "names port 'web', which container app does not declare (it declares http)" in finding.message
    assert finding.locations and finding.locations[0].line > 1  # the probe's port line, not the object's


@pytest.mark.parametrize(("group", "kind"), TEMPLATE_KINDS, ids=lambda value: value or "core")
def test_a_declared_name_passes_in_every_kind_with_a_pod_template(tmp_path: Path, group: str, kind: str) -> None:
    good = with_containers(of_kind(group, kind), [probed("http")])
    assert [f.outcome for f in findings(tmp_path, good)] == [Outcome.PASSED]


@pytest.mark.parametrize(("probe", "consequence"), [
    ("readinessProbe", "never becomes Ready and its pods are never ready endpoints"),
    ("livenessProbe", "the liveness check never acts: a hung container is never restarted"),
    ("startupProbe", "never counts as started: its readiness and liveness probes never run"),
])
@pytest.mark.parametrize("handler", ["httpGet", "tcpSocket"])
def test_each_probe_type_and_handler_names_its_consequence(tmp_path: Path, probe: str, consequence: str,
                                                            handler: str) -> None:
    [finding] = failed(tmp_path, real_world.deployment("web", {"app": "web"},
                                                       containers=[probed("web", probe, handler)]))
    assert f"the {probe}.{handler}.port of container app names port 'web'" in finding.message
    assert consequence in finding.message
    assert "the kubelet errors on every run of the probe and discards it" in finding.message


def test_a_port_of_another_container_does_not_count(tmp_path: Path) -> None:
    proxy = real_world.container("proxy", [{"name": "admin", "containerPort": 9901}])
    [finding] = failed(tmp_path, real_world.deployment(
        "web", {"app": "web"}, containers=[probed("admin", "livenessProbe"), proxy]))
    assert "container proxy declares 'admin', but the kubelet looks only in the probe's own container" in \
        finding.message
    assert "set port: 9901 (the number container proxy declares as 'admin')" in finding.fix[0]


def test_a_sidecar_is_checked_against_its_own_ports(tmp_path: Path) -> None:
    sidecar = probed("metrics", "startupProbe", name="envoy", ports=[{"name": "admin", "containerPort": 9901}],
                     restartPolicy="Always")
    [finding] = failed(tmp_path, real_world.deployment("web", {"app": "web"}, init=[sidecar]))
    assert "container envoy names port 'metrics', which container envoy does not declare (it declares admin)" in \
        finding.message
    assert "as a sidecar, it holds back every container after it" in finding.message
    assert ".initContainers[0].startupProbe.httpGet" in finding.fix[0]


def test_a_sidecar_naming_its_own_port_passes(tmp_path: Path) -> None:
    sidecar = probed("admin", name="envoy", ports=[{"name": "admin", "containerPort": 9901}], restartPolicy="Always")
    outcomes = [f.outcome for f in findings(tmp_path, real_world.deployment("web", {"app": "web"}, init=[sidecar]))]
    assert outcomes == [Outcome.PASSED]


def test_a_plain_init_container_is_not_a_prober(tmp_path: Path) -> None:
    """Only a sidecar's probes run; the API server rejects probes on another init container (not this rule)."""
    init = probed("web", name="migrate")
    assert findings(tmp_path, real_world.deployment("web", {"app": "web"}, init=[init])) == []


@pytest.mark.parametrize("port", [8080, 9999, 1])
def test_a_number_is_never_checked(tmp_path: Path, port: int) -> None:
    assert findings(tmp_path, real_world.deployment("web", {"app": "web"}, containers=[probed(port)])) == []


@pytest.mark.parametrize("probe", probe_port.PROBES)
@pytest.mark.parametrize("handler", probe_port.HANDLERS)
@pytest.mark.parametrize("field", ["containers", "initContainers"])
def test_every_port_the_rule_reads_is_checked_by_the_schema_first(tmp_path: Path, probe: str, handler: str,
                                                                  field: str) -> None:
    """The rule judges only valid port names: a form the API server rejects (here a quoted number) at any place the
    rule reads, a sidecar's included, stops the set at gate/schema.py (exit 2; the values: tests/unit, probe-port-*)."""
    sidecar = field == "initContainers"
    bad = probed("8080", probe, handler, **({"restartPolicy": "Always"} if sidecar else {}))
    workload = real_world.deployment("web", {"app": "web"}, init=[bad] if sidecar else None,
                                     containers=None if sidecar else [bad])
    with pytest.raises(ManifestError, match=re.escape(f"spec.template.spec.{field}[0].{probe}.{handler}.port: ") +
                       r".*write port: 8080 without quotes"):
        findings(tmp_path, workload)


def test_a_container_without_named_ports_says_so(tmp_path: Path) -> None:
    bare = probed("http")
    bare["ports"] = [{"containerPort": 8080}]
    [finding] = failed(tmp_path, real_world.deployment("web", {"app": "web"}, containers=[bare]))
    assert "(it declares no named port)" in finding.message
    assert "add {name: http, containerPort: <port>} to the ports of container app" in finding.fix[0]
    assert finding.fix[0].startswith(f"in the manifest at {finding.locations[1]}, add")  # the ports, then the probe
    assert f"; or in the manifest at {finding.locations[0]}, under " in finding.fix[0]


def test_the_fix_fixes_it(tmp_path: Path) -> None:
    """Following the fix (declare the name, or use the number) clears the finding and adds no other failure."""
    declared = probed("web", ports=[{"name": "http", "containerPort": 8080}, {"name": "web", "containerPort": 8081}])
    numbered = probed(8081)
    for container in (declared, numbered):
        set_ = real_world.lint_set(tmp_path, [real_world.deployment("web", {"app": "web"}, containers=[container])])
        assert [f for f in set_ if f.outcome is Outcome.FAILED] == []


def test_every_probe_port_is_judged_and_one_pass_per_workload(tmp_path: Path) -> None:
    two = real_world.container(readinessProbe={"tcpSocket": {"port": "web"}},
                               livenessProbe={"tcpSocket": {"port": "http"}})
    results = findings(tmp_path, real_world.deployment("web", {"app": "web"}, containers=[two]))
    assert [f.outcome for f in results] == [Outcome.FAILED]
    assert [f.outcome for f in findings(tmp_path, small.workload("Deployment", "web", {"app": "web"}))] == []


def test_a_custom_workload_the_table_lacks_is_read_at_spec_template(tmp_path: Path) -> None:
    """An apps/v1-shaped custom workload (OpenKruise's CloneSet) is a pod template by gate.objects' rule too."""
    clone_set = real_world.deployment("web", {"app": "web"}, kind="CloneSet", api_version="apps.kruise.io/v1alpha1",
                                      containers=[probed("web")])
    [finding] = failed(tmp_path, clone_set)
    assert finding.subject.kind == "CloneSet"
