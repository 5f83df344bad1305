"""target-port graded by evidence, on real-world shapes: where apps really take their port from, and the faults.

A numeric targetPort always gets endpoints (containerPort is informational), so an undeclared one is
a warning only when the pod template points at a mistake, and the warning's fix must fix it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.config import GateConfig, load_config
from gate.findings import Finding, Outcome, Severity
from gate.inventory import Inventory
from gate.lint import lint
from gate.manifests import load
from gate.pairs import resolve
from tests.testing import lint as small
from tests.testing import real_world
from tests.testing.patching import apply_fix

NS = "apps"


def container(name: str, ports: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "image": f"registry.local/{name}:1", **extra}
    if ports is not None:
        found["ports"] = ports
    return found


def deployment(name: str, *containers: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": list(containers)}}}}


def service(name: str, *ports: dict[str, Any], selector: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": selector or {"app": name}, "ports": list(ports)}}


def lint_set(tmp_path: Path, objects: list[dict[str, Any]], name: str = "set.yaml") -> list[Finding]:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return lint(Inventory.from_manifests(load([str(path)]).manifests), GateConfig())


def target_port(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == "target-port" and f.outcome is not Outcome.PASSED]


def unsettled(findings: list[Finding]) -> set[tuple[str, str, str, Outcome, Severity]]:
    """What a run reports besides passes, as (rule, subject, title, outcome, severity)."""
    return {(f.rule, str(f.subject), f.title, f.outcome, f.severity) for f in findings
            if f.outcome is not Outcome.PASSED}


# --- apps that listen on a port they do not declare: a note, never a failure -------------------------------

PORT_FROM_ENV = [  # a Node app reading PORT, declaring only its metrics port
    deployment("web", container("web", [{"name": "metrics", "containerPort": 9464}],
                                env=[{"name": "NODE_ENV", "value": "production"}, {"name": "PORT", "value": "3000"}])),
    service("web", {"name": "http", "port": 3000, "targetPort": 3000})]
PORT_FROM_ARGS = [  # uvicorn told its port on the command line; 8001 declared for metrics
    deployment("api", container("api", [{"containerPort": 8001}],
                                args=["main:app", "--host=0.0.0.0", "--port=8000"])),
    service("api", {"port": 8000})]
NO_PORTS = [deployment("worker", container("worker")), service("worker", {"port": 80, "targetPort": 8080})]
SIDECAR_LISTENS = [  # the Service fronts an auth proxy sidecar that declares nothing; the app declares 8080
    deployment("dash", container("dash", [{"name": "http", "containerPort": 8080}]),
               container("oauth2-proxy", args=["--http-address=0.0.0.0:4180", "--upstream=http://127.0.0.1:8080"])),
    service("dash", {"name": "https", "port": 443, "targetPort": 4180})]
PROBED = [  # declared nothing for 8443, but probes it
    deployment("admin", container("admin", [{"name": "http", "containerPort": 8080}],
                                  readinessProbe={"httpGet": {"path": "/healthz", "port": 8443}})),
    service("admin", {"port": 443, "targetPort": 8443})]


@pytest.mark.parametrize(("objects", "message"), [
    (PORT_FROM_ENV, "service/web: targetPort 3000 of port http (3000/TCP) is undeclared by deployment/web (env PORT "
                    "of container web names it); only live traffic can say whether the app listens there"),
    (PORT_FROM_ARGS, "service/api: targetPort 8000 (by default: the Service port) of port 8000/TCP is undeclared by "
                     "deployment/api (the args of container api name it); only live traffic can say whether the app "
                     "listens there"),
    (NO_PORTS, "service/worker: targetPort 8080 of port 80/TCP is undeclared by deployment/worker (it declares no TCP "
               "port); only live traffic can say whether the app listens there"),
    (SIDECAR_LISTENS, "service/dash: targetPort 4180 of port https (443/TCP) is undeclared by deployment/dash (the "
                      "args of container oauth2-proxy name it); only live traffic can say whether the app listens "
                      "there"),
    (PROBED, "service/admin: targetPort 8443 of port 443/TCP is undeclared by deployment/admin (the readinessProbe "
             "of container admin names it); only live traffic can say whether the app listens there"),
], ids=["env", "args", "no-ports", "sidecar", "probe"])
def test_an_app_listening_where_its_template_says_gets_a_note(tmp_path: Path, objects: list[dict[str, Any]],
                                                               message: str) -> None:
    findings = lint_set(tmp_path, objects)
    [finding] = target_port(findings)
    assert (finding.outcome, finding.message, finding.fix) == (Outcome.NOT_CHECKABLE, message, ())
    assert not any(f.is_error or f.is_warning for f in findings)  # --strict passes


def test_an_env_value_is_never_printed(tmp_path: Path) -> None:
    """Only the variable's name: a URL holding the port may hold a password too."""
    objects = [deployment("db-client", container("app", [{"containerPort": 8080}], env=[
        {"name": "DATABASE_URL", "value": "postgres://app:s3cret@db:5432/app"}])),
        service("db-client", {"port": 80, "targetPort": 5432})]
    [finding] = target_port(lint_set(tmp_path, objects))
    assert "env DATABASE_URL of container app names it" in finding.message and "s3cret" not in finding.message


# --- a likely mistake: a warning whose fix points the targetPort at the declared port ---------------------

def ports_line(path: Path) -> str:
    """file:line of the Service's `ports:` (the set holds one Service, written last)."""
    lines = path.read_text().splitlines()
    return f"{path}:{max(i for i, line in enumerate(lines, 1) if line.strip() == 'ports:')}"


GRPC = [deployment("greeter", container("greeter", [{"name": "grpc", "containerPort": 50051}])),
        service("greeter", {"name": "grpc", "port": 50051, "targetPort": 50052})]
UNSET = [deployment("shop", container("shop", [{"containerPort": 8080}])), service("shop", {"port": 80})]
MESH = [  # the Service port defaulted to 80; the app and its mesh sidecar declare 8080 and 15090
    deployment("cart", container("cart", [{"name": "http", "containerPort": 8080}]),
               container("istio-proxy", [{"name": "http-envoy-prom", "containerPort": 15090}])),
    service("cart", {"name": "http", "port": 80, "targetPort": 0})]


def test_a_grpc_target_port_one_off_the_declared_port_is_a_warning_whose_fix_fixes(tmp_path: Path) -> None:
    findings = lint_set(tmp_path, GRPC)
    [finding] = target_port(findings)
    assert (finding.outcome, finding.severity) == (Outcome.FAILED, Severity.WARNING)
    assert finding.message == (
        "service/greeter: targetPort 50052 of port grpc (50051/TCP) is likely wrong: deployment/greeter declares "
        "grpc=50051/TCP, a near miss of 50052, and nothing else in its pod template names 50052; its pods are likely "
        "not listening on 50052")
    assert finding.fix == (
        "kubectl patch service greeter -n apps --type=json "
        "-p='[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":\"grpc\"}]'",
        f"or in the manifest at {ports_line(tmp_path / 'set.yaml')}, set targetPort: grpc on port grpc (50051/TCP)")
    assert str(finding.locations[0]) == ports_line(tmp_path / "set.yaml")


def test_a_target_port_left_to_the_service_port_in_front_of_another_port_is_a_warning(tmp_path: Path) -> None:
    [finding] = target_port(lint_set(tmp_path, UNSET))
    assert finding.severity is Severity.WARNING and finding.message == (
        "service/shop: targetPort 80 (by default: the Service port) of port 80/TCP is likely wrong: deployment/shop "
        "declares 8080/TCP, not the Service port 80, and nothing else in its pod template names 80; its pods are "
        "likely not listening on 80")
    assert finding.fix[0] == ("kubectl patch service shop -n apps --type=json "
                              "-p='[{\"op\":\"add\",\"path\":\"/spec/ports/0/targetPort\",\"value\":8080}]'")


def test_several_declared_ports_give_the_choice_not_a_guess(tmp_path: Path) -> None:
    [finding] = target_port(lint_set(tmp_path, MESH))
    assert finding.severity is Severity.WARNING
    assert finding.fix == ("set targetPort of port http (80/TCP) to the port deployment/cart listens on: one of "
                           "http=8080/TCP, http-envoy-prom=15090/TCP",)


@pytest.mark.parametrize("objects", [GRPC, UNSET], ids=["grpc", "unset"])
def test_every_target_port_fix_leaves_the_set_clean(tmp_path: Path, objects: list[dict[str, Any]]) -> None:
    """Apply each printed command, lint the whole set again: that finding gone, nothing new."""
    before = lint_set(tmp_path, objects)
    [finding] = target_port(before)
    patched = apply_fix(objects, finding.fix[0])
    after = lint_set(tmp_path, patched, "patched.yaml")
    assert target_port(after) == []
    assert unsettled(after) == unsettled(before) - unsettled([finding])


@pytest.mark.parametrize(("target", "warned"), [
    (8081, True), (8079, True), (8800, True), (808, True), (18080, True),  # one apart, swapped, dropped, added
    (9090, False), (8443, False), (3000, False),  # other ports: nothing points at a mistake
])
def test_a_near_miss_of_the_declared_port_is_a_likely_typo(tmp_path: Path, target: int, warned: bool) -> None:
    objects = [deployment("web", container("web", [{"containerPort": 8080}])),
               service("web", {"port": 80, "targetPort": target})]
    [finding] = target_port(lint_set(tmp_path, objects))
    assert finding.is_warning is warned and (finding.outcome is Outcome.NOT_CHECKABLE) is not warned


def test_an_undeclared_metrics_port_next_to_a_declared_one_is_a_note(tmp_path: Path) -> None:
    """8081 is a near miss of 8080, but port http already sends to 8080: the app's admin port, not a typo."""
    objects = [deployment("web", container("web", [{"name": "http", "containerPort": 8080}])),
               service("web", {"name": "http", "port": 8080}, {"name": "admin", "port": 8081})]
    [finding] = target_port(lint_set(tmp_path, objects))
    assert finding.outcome is Outcome.NOT_CHECKABLE and "it declares http=8080/TCP; nothing else" in finding.message


def test_a_port_another_selected_workload_declares_is_no_mistake(tmp_path: Path) -> None:
    """Blue/green under one Service: green moved to 8081; blue still declares 8080, the targetPort."""
    blue = deployment("web-blue", container("web", [{"containerPort": 8080}]), labels={"app": "web", "slot": "blue"})
    green = deployment("web-green", container("web", [{"containerPort": 8081}]), labels={"app": "web", "slot": "green"})
    objects = [blue, green, service("web", {"port": 80, "targetPort": 8080}, selector={"app": "web"})]
    [finding] = target_port(lint_set(tmp_path, objects))
    assert finding.outcome is Outcome.NOT_CHECKABLE
    assert finding.message == (
        "service/web: targetPort 8080 of port 80/TCP is undeclared by deployment/web-green (deployment/web-blue, which "
        "the Service also selects, declares it); only live traffic can say whether the app listens there")


# --- named targetPorts stay errors; 0 and '' are the Service port ---------------------------------------

def test_a_named_target_port_no_container_names_is_still_an_error(tmp_path: Path) -> None:
    objects = [deployment("web", container("web", [{"name": "http", "containerPort": 8080}])),
               service("web", {"port": 80, "targetPort": "htpp"})]
    [finding] = target_port(lint_set(tmp_path, objects))
    assert finding.is_error and finding.message == (
        "service/web: targetPort 'htpp' of port 80/TCP names no container port of deployment/web (it declares "
        "http=8080/TCP); endpoints for that port stay empty")


@pytest.mark.parametrize("written", ["0", "''", '""'])
def test_target_port_zero_or_empty_is_the_service_port(tmp_path: Path, written: str) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(deployment("web", container("web", [{"containerPort": 8080}])), sort_keys=False)
                    + f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: {NS}}}\n"
                      f"spec: {{selector: {{app: web}}, ports: [{{port: 8080, targetPort: {written}}}]}}\n")
    result = CliRunner().invoke(main, ["lint", str(path), "--strict", "-o", "json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)["findings"]
    assert [f["outcome"] for f in checks if f["rule"] == "target-port"] == ["passed"]


# --- pairs: the policy verdict, with the note -------------------------------------------------------------

def admit(name: str, caller: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-ingress", "namespace": NS},
            "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": caller}}}],
                                  "ports": [{"port": port, "protocol": "TCP"}]}]}}


def explain(tmp_path: Path, objects: list[dict[str, Any]], target: str, *options: str) -> tuple[int, str]:
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    result = CliRunner().invoke(main, ["explain", "--from", f"{NS}/frontend", "--to", f"{NS}/{target}", "-f",
                                       str(path), *options])
    return result.exit_code, result.output


FRONTEND = deployment("frontend", container("frontend", [{"containerPort": 8080}]))


def test_explain_through_an_undeclared_port_is_the_policy_verdict_plus_the_note(tmp_path: Path) -> None:
    code, output = explain(tmp_path, [FRONTEND, *PORT_FROM_ENV, admit("web", "frontend", 3000)], "web:3000")
    lines = output.splitlines()
    assert code == 0, output
    assert lines[0] == ("ALLOW  deployment/frontend (apps) -> web.apps:3000: connects to deployment/web port 3000/TCP "
                        "(allowed: egress: no NetworkPolicy isolates the caller; ingress: admitted by web-ingress "
                        "ingress rule 1)")
    assert lines[1].startswith("    ingress: admitted by web-ingress")  # the deciding rule
    assert lines[-1] == ("    note: targetPort 3000 of port http (3000/TCP) is undeclared by deployment/web (env PORT "
                         "of container web names it); only live traffic can say whether the app listens there")


def test_explain_through_a_likely_wrong_port_denies_with_the_target_port_fix(tmp_path: Path) -> None:
    """Policies admit 50051, the Service sends to 50052: the fix is the targetPort, not opening 50052."""
    objects = [FRONTEND, *GRPC, admit("greeter", "frontend", 50051)]
    code, output = explain(tmp_path, objects, "greeter:50051")
    lines = output.splitlines()
    assert code == 1 and lines[0].startswith("DENY  deployment/frontend (apps) -> greeter.apps:50051: cannot "
                                             "connect to deployment/greeter port 50052/TCP: blocked: ingress: denied")
    assert "    note: targetPort 50052 of port grpc (50051/TCP) is likely wrong: deployment/greeter declares " \
           "grpc=50051/TCP, a near miss of 50052, and nothing else in its pod template names 50052; its pods are " \
           "likely not listening on 50052" in lines
    fixes = [line.removeprefix("    fix: ") for line in lines if line.startswith("    fix: ")]
    assert fixes[0].startswith("kubectl patch service greeter -n apps")
    code, _ = explain(tmp_path, [*apply_fix(objects, fixes[0])], "greeter:50051")
    assert code == 0
    _, document = explain(tmp_path, objects, "greeter:50051", "-o", "json")
    [backend] = json.loads(document)["backends"]
    assert backend["note"].endswith("likely not listening on 50052") and backend["fixes"] == fixes


def test_lint_pair_through_an_undeclared_port_is_judged_with_the_note(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("pairs:\n- from: deployment/frontend\n  to: web:3000\n")
    objects = [FRONTEND, *PORT_FROM_ENV, admit("web", "frontend", 3000)]
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    inventory = Inventory.from_manifests(load([str(path)]).manifests, NS)
    [pair] = [f for f in lint(inventory, load_config(tmp_path / "gate.yaml")) if f.rule == "caller-pair"]
    assert pair.outcome is Outcome.PASSED
    assert pair.evidence[-1] == ("note: targetPort 3000 of port http (3000/TCP) is undeclared by deployment/web (env "
                                 "PORT of container web names it); only live traffic can say whether the app listens "
                                 "there")


def test_verify_gets_the_same_note_from_the_resolved_pair(tmp_path: Path) -> None:
    """verify's probe adds ResolvedPair.notes to a pair's evidence: the same line lint and explain give."""
    (tmp_path / "gate.yaml").write_text("pairs:\n- from: deployment/frontend\n  to: greeter:50051\n")
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump_all([FRONTEND, *GRPC], sort_keys=False))
    [pair] = load_config(tmp_path / "gate.yaml").pairs
    resolved = resolve(pair, Inventory.from_manifests(load([str(path)]).manifests, NS))
    assert [b.port for b in resolved.backends] == [50052]
    assert resolved.notes == (
        "targetPort 50052 of port grpc (50051/TCP) is likely wrong: deployment/greeter declares grpc=50051/TCP, a near "
        "miss of 50052, and nothing else in its pod template names 50052; its pods are likely not listening on 50052",)


@pytest.mark.parametrize(("target", "protocol", "outcome", "severity"), [
    (8080, "TCP", Outcome.PASSED, None),
    ("http", "TCP", Outcome.PASSED, None),
    ("grpc", "TCP", Outcome.FAILED, Severity.ERROR),
    ("http", "UDP", Outcome.FAILED, Severity.ERROR),
    (8081, "TCP", Outcome.FAILED, Severity.WARNING),  # a near miss of the declared 8080
    (9999, "TCP", Outcome.NOT_CHECKABLE, None),  # undeclared, but nothing says the app does not listen there
])
def test_target_port(tmp_path: Path, target: object, protocol: str, outcome: Outcome, severity: Severity) -> None:
    findings = small.run(tmp_path, [small.workload("Deployment", "web", {"app": "web"}),
                                    small.service("web", {"app": "web"}, target, protocol=protocol)])
    [finding] = small.only(findings, "target-port")
    assert finding.outcome is outcome
    if severity:
        assert finding.severity is severity and str(target) in finding.message


def test_undeclared_target_port_number_is_a_note_that_does_not_claim_no_endpoints(tmp_path: Path) -> None:
    objects = [real_world.deployment("web", {"app": "web"}), real_world.service("web", {"app": "web"}, 9000)]
    [finding] = real_world.rule(real_world.lint_set(tmp_path, objects), "target-port")
    assert finding.outcome is Outcome.NOT_CHECKABLE and "undeclared" in finding.message
    assert "no endpoints" not in finding.message and "stay empty" not in finding.message


def test_named_target_port_with_another_protocol_says_so(tmp_path: Path) -> None:
    ports = [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]
    objects = [real_world.deployment("dns", {"app": "dns"}, containers=[real_world.container(ports=ports)]),
               real_world.service("dns", {"app": "dns"}, "dns", protocol="TCP")]
    [finding] = real_world.errors(real_world.lint_set(tmp_path, objects))
    assert "whose protocol is UDP" in finding.message
    assert "add a port named" not in finding.fix[0] and "protocol" in finding.fix[0]
