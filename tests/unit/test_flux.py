"""verify --flux-kustomization: the touched set is a Flux Kustomization's inventory, read once it has applied
the revision it last attempted; Ready=False is a failed check with Flux's message; the object is untrusted input.

The Kustomizations here are written after kustomize-controller v1.10's status (api/v1/kustomization_types.go)
and fluxcd/cli-utils' inventory ids (`<namespace>_<name>_<group>_<kind>`).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from gate.cli import main
from gate.errors import ClusterError, UsageError
from gate.findings import Outcome
from gate.flux import KUSTOMIZATIONS, kustomization_resources
from gate.kinds import Resource
from gate.objects import ObjectRef
from gate.schema import MalformedObject

REVISION = "main@sha1:1111111111111111111111111111111111111111"
NEXT = "main@sha1:2222222222222222222222222222222222222222"
ENTRIES = [
    {"id": "shop_web__Service", "v": "v1"},  # the core group is empty: two underscores
    {"id": "shop_web_apps_Deployment", "v": "v1"},
    {"id": "_shop__Namespace", "v": "v1"},  # cluster-scoped: the namespace is empty
    {"id": "_system__controller__web_rbac.authorization.k8s.io_ClusterRole", "v": "v1"},  # ':' written as '__'
    {"id": "shop_w_example.com_Widget", "v": "v1beta2"},
]


def kustomization(ready: str | None = "True", reason: str = "ReconciliationSucceeded", message: str = "",
                  applied: str = REVISION, attempted: str = REVISION, entries: Any = None,
                  generation: int = 1, observed: int = 1) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": reason,
                                             "message": message or f"Applied revision: {applied}",
                                             "observedGeneration": observed}]
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "flux-system", "generation": generation},
            "spec": {"interval": "1m", "path": "./app", "prune": True},
            "status": {"conditions": conditions, "lastAppliedRevision": applied, "lastAttemptedRevision": attempted,
                       "inventory": {"entries": copy.deepcopy(ENTRIES if entries is None else entries)}}}


class FluxCluster:
    """Answers each read of the Kustomization with the next of `states` (the last one from then on)."""

    def __init__(self, *states: Any, served: bool = True) -> None:
        self.states, self.served, self.reads, self.bounds = list(states), served, 0, []

    def resource_for(self, kind: str, api_version: str, where: str) -> None:
        from gate.errors import ManifestError

        if not self.served:
            raise ManifestError(f"{where}: the cluster does not serve apiVersion {api_version}")

    def bound(self, deadline: float | None) -> None:
        self.bounds.append(deadline)

    def get(self, resource: Resource, namespace: str, name: str) -> Any:
        assert (resource, namespace, name) == (KUSTOMIZATIONS, "flux-system", "app")
        self.reads += 1
        return self.states[min(self.reads, len(self.states)) - 1]


def resources(cluster: FluxCluster, seconds: float = 60.0) -> tuple[list[Any], Any, list[float]]:
    import time

    slept: list[float] = []
    touched, finding = kustomization_resources(cluster, "app", "flux-system", time.monotonic() + seconds,  # type: ignore[arg-type]
                                               sleep=slept.append)
    return touched, finding, slept


def test_an_applied_kustomization_gives_its_inventory_core_cluster_scoped_rbac_and_custom_kinds() -> None:
    touched, finding, slept = resources(FluxCluster(kustomization()))
    assert [(t.ref, t.api_version) for t in touched] == [
        (ObjectRef("Service", "shop", "web"), "v1"),
        (ObjectRef("Deployment", "shop", "web", "apps"), "apps/v1"),
        (ObjectRef("Namespace", None, "shop"), "v1"),
        (ObjectRef("ClusterRole", None, "system:controller:web", "rbac.authorization.k8s.io"),
         "rbac.authorization.k8s.io/v1"),
        (ObjectRef("Widget", "shop", "w", "example.com"), "example.com/v1beta2")]
    assert finding.outcome is Outcome.PASSED and slept == []
    assert finding.message == f"kustomization/app in namespace flux-system: applied revision {REVISION}"


@pytest.mark.parametrize("pending", [
    kustomization(ready=None, applied="", attempted=""),  # just created: no status yet
    kustomization(ready="Unknown", reason="Progressing", message="Reconciliation in progress"),
    kustomization(applied=REVISION, attempted=NEXT),  # started on the next revision, not yet applied
    kustomization(generation=2, observed=1),  # a new spec the controller has not reconciled yet
    kustomization(ready="False", reason="DependencyNotReady", message="dependency 'flux-system/infra' is not ready"),
])
def test_the_gate_waits_until_the_attempted_revision_is_applied(pending: dict[str, Any]) -> None:
    cluster = FluxCluster(pending, pending, kustomization(applied=NEXT, attempted=NEXT, generation=2, observed=2))
    touched, finding, slept = resources(cluster)
    assert cluster.reads == 3 and slept == [1.0, 1.0] and len(touched) == len(ENTRIES)
    assert finding.outcome is Outcome.PASSED and NEXT in finding.message
    assert cluster.bounds[-1] is None  # every read was bounded by the deadline, and the bound lifted after


def test_not_applied_by_the_rollout_deadline_is_a_failed_check_saying_why() -> None:
    touched, finding, _ = resources(FluxCluster(kustomization(applied=REVISION, attempted=NEXT)), seconds=0.5)
    assert touched == [] and finding.outcome is Outcome.FAILED
    assert finding.message == (f"kustomization/app in namespace flux-system: not applied within the rollout deadline: "
                               f"applied revision {REVISION}, not yet the attempted {NEXT}")


def test_a_suspended_kustomization_says_so_while_it_is_waited_for() -> None:
    suspended = kustomization(applied=REVISION, attempted=NEXT)
    suspended["spec"]["suspend"] = True
    _, finding, _ = resources(FluxCluster(suspended), seconds=0.5)
    assert finding.message.endswith("(it is suspended: spec.suspend)")


def test_ready_false_is_a_failed_check_with_fluxs_message_and_the_failed_revision_is_verified() -> None:
    message = ("health check failed after 30s: failed early due to stalled resources: "
               "[Deployment/shop/web status: 'Failed']")
    touched, finding, slept = resources(FluxCluster(kustomization(
        ready="False", reason="HealthCheckFailed", message=message, applied=REVISION, attempted=NEXT)))
    assert finding.outcome is Outcome.FAILED and slept == []
    assert finding.message == f"kustomization/app in namespace flux-system: not Ready (HealthCheckFailed): {message}"
    assert len(touched) == len(ENTRIES)  # recorded before the health checks: the objects that failed them


def test_ready_false_before_anything_was_applied_verifies_no_stale_inventory() -> None:
    touched, finding, _ = resources(FluxCluster(kustomization(
        ready="False", reason="BuildFailed", message="kustomize build failed: accumulating resources",
        attempted=NEXT)))
    assert touched == [] and finding.outcome is Outcome.FAILED
    assert finding.message.endswith("not Ready (BuildFailed): kustomize build failed: accumulating resources")


@pytest.mark.parametrize(("entries", "field"), [
    ([{"id": "web", "v": "v1"}], "status.inventory.entries[0].id: expected an inventory id"),
    ([{"id": "shop_web_apps_", "v": "v1"}], "status.inventory.entries[0].id"),  # no kind
    ([{"id": "shop_we_b_apps_Deployment", "v": "v1"}], "status.inventory.entries[0].id"),  # '_' in a name
    ([{"id": "Shop_web__Service", "v": "v1"}], "status.inventory.entries[0].id"),  # not a namespace
    ([{"id": "shop_web_apps/v1_Deployment", "v": "v1"}], "status.inventory.entries[0].id"),
    ([ENTRIES[0], {"id": 5, "v": "v1"}], "status.inventory.entries[1].id: expected a string, got 5"),
    ([{"id": "shop_web__Service"}], "status.inventory.entries[0].v: missing"),
    ([{"id": "shop_web__Service", "v": "1/v1"}], "status.inventory.entries[0].v: expected an API version"),
    ("x", "status.inventory.entries: expected a list of inventory entries, got 'x'"),
])
def test_a_malformed_inventory_cannot_be_verified_naming_the_field(entries: Any, field: str) -> None:
    with pytest.raises(MalformedObject) as raised:
        resources(FluxCluster(kustomization(entries=entries)))
    assert str(raised.value).startswith("malformed object from the API server: kustomization/app in namespace "
                                        f"flux-system: {field}")


@pytest.mark.parametrize(("change", "field"), [
    (lambda k: k["status"].update(lastAppliedRevision=5), "status.lastAppliedRevision"),
    (lambda k: k["status"].update(conditions="Ready"), "status.conditions"),
    (lambda k: k["status"]["conditions"][0].update(observedGeneration="1"), "status.conditions[0].observedGeneration"),
    (lambda k: k["spec"].update(suspend="yes"), "spec.suspend"),
    (lambda k: k.update(kind="Application"), "kind"),
])
def test_a_malformed_kustomization_cannot_be_verified(change: Any, field: str) -> None:
    broken = kustomization()
    change(broken)
    with pytest.raises(MalformedObject, match=re.escape(f"kustomization/app in namespace flux-system: {field}")):
        resources(FluxCluster(broken))


def test_an_applied_kustomization_with_an_empty_inventory_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"lists no objects in status\.inventory\.entries"):
        resources(FluxCluster(kustomization(entries=[])))


def test_a_missing_kustomization_and_a_cluster_without_flux_are_said_so() -> None:
    with pytest.raises(UsageError, match="no Kustomization 'app' in namespace flux-system"):
        resources(FluxCluster(None))
    with pytest.raises(ClusterError, match=r"does not serve kustomize.toolkit.fluxcd.io/v1 .*is Flux installed"):
        resources(FluxCluster(kustomization(), served=False))


# --- through the command: exit codes against a small API server -------------------------------------------------

class FluxApiServer(ThreadingHTTPServer):
    """Serves the Flux group's discovery and the Kustomization flux-system/app, as `kustomization` holds it."""

    daemon_threads = True

    def __init__(self, served: dict[str, Any]) -> None:
        self.served = served
        super().__init__(("127.0.0.1", 0), _Handler)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{self.server_address[1]}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
        return path


class _Handler(BaseHTTPRequestHandler):
    server: FluxApiServer

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        discovery = {"resources": [{"name": "kustomizations", "kind": "Kustomization", "namespaced": True}]}
        body = {"/apis/kustomize.toolkit.fluxcd.io/v1": discovery,
                "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/app":
                    self.server.served}.get(path)
        data = json.dumps(body if body is not None else {"kind": "Status", "code": 404}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    state: dict[str, Any] = {}
    server = FluxApiServer(state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, server.kubeconfig(tmp_path / "kubeconfig")
    finally:
        server.shutdown()


def run(served: tuple[dict[str, Any], Path], obj: dict[str, Any], *args: str) -> Any:
    state, kubeconfig = served
    state.clear()
    state.update(obj)
    return CliRunner().invoke(main, ["verify", "--flux-kustomization", "app", "--kubeconfig", str(kubeconfig),
                                     "--rollout-timeout", "3", *args])


# Only kinds with nothing to roll out: the verdict is the Kustomization's own, no other request is needed.
STATIC = [{"id": "shop_settings__ConfigMap", "v": "v1"}]


def test_verify_flux_kustomization_exit_codes(served: tuple[dict[str, Any], Path]) -> None:
    passed = run(served, kustomization(entries=STATIC), "-v")
    assert passed.exit_code == 0, passed.output
    assert f"applied revision {REVISION}" in passed.output
    failed = run(served, kustomization(ready="False", reason="ReconciliationFailed", entries=STATIC,
                                       message="Service/shop/web dry-run failed: spec.ports: Required value"))
    assert failed.exit_code == 1, failed.output
    assert "not Ready (ReconciliationFailed): Service/shop/web dry-run failed: spec.ports: Required value" \
        in failed.output
    malformed = run(served, kustomization(entries=[{"id": "shop_web", "v": "v1"}]))
    assert malformed.exit_code == 3, malformed.output
    assert "deploy-gate: error: malformed object from the API server: kustomization/app in namespace flux-system: " \
           "status.inventory.entries[0].id: expected an inventory id <namespace>_<name>_<group>_<kind>, got " \
           "'shop_web'" in malformed.output


def test_flux_namespace_must_be_a_namespace_name(served: tuple[dict[str, Any], Path]) -> None:
    result = run(served, kustomization(), "--flux-namespace", "Flux_System")
    assert result.exit_code == 2 and "--flux-namespace" in result.output


# --- examples/flux: the in-cluster pattern holds together ---------------------------------------------------------

def test_the_flux_example_gates_the_app_kustomization_with_exactly_the_rbac_it_needs() -> None:
    root = Path(__file__).parents[2] / "examples" / "flux"
    app, gate = yaml.safe_load_all((root / "kustomizations.yaml").read_text())
    assert gate["spec"]["dependsOn"] == [{"name": app["metadata"]["name"]}] and gate["spec"]["wait"] is True
    objects = list(yaml.safe_load_all((root / "gate" / "rbac.yaml").read_text()))
    job = yaml.safe_load((root / "gate" / "job.yaml").read_text())
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--flux-kustomization") + 1] == app["metadata"]["name"]
    assert args[args.index("--flux-namespace") + 1] == app["metadata"]["namespace"]
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["ttlSecondsAfterFinished"] > 0
    (read_kustomization,) = [o for o in objects if o["kind"] == "Role" and o["metadata"]["namespace"] == "flux-system"]
    assert read_kustomization["rules"] == [{"apiGroups": ["kustomize.toolkit.fluxcd.io"],
                                            "resources": ["kustomizations"], "verbs": ["get"],
                                            "resourceNames": [app["metadata"]["name"]]}]
    bindings = [o for o in objects if o["kind"] == "RoleBinding"]
    account = job["spec"]["template"]["spec"]["serviceAccountName"]
    assert all(b["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": job["metadata"]["namespace"]}]
               for b in bindings) and len(bindings) == 2


def test_the_action_inputs_for_flux_become_the_flags_in_verify_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.github_action import build_argv

    for name, value in {"MODE": "verify", "FLUX_KUSTOMIZATION": "apps", "FLUX_HELMRELEASE": "web",
                        "FLUX_NAMESPACE": "shop"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["verify", "--flux-kustomization", "apps", "--flux-helmrelease", "web",
                            "--flux-namespace", "shop", "--junit", "deploy-gate-junit.xml"]
    monkeypatch.setenv("INPUT_MODE", "lint")
    monkeypatch.setenv("INPUT_MANIFESTS", "m/")
    assert not {"--flux-kustomization", "--flux-helmrelease", "--flux-namespace"} & set(build_argv())
