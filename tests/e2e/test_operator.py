"""Operator-created pods on the real cluster: verify waits for them instead of failing a good deploy.

A CustomResourceDefinition `Widget` and a stand-in operator (a thread of this test) that creates the
widget's Deployment 8 s after the Widget appears, as an operator reconciling a new resource does. A
Service selects the Deployment's future pods, and another touched Deployment settles the namespace
early: exactly the setup that used to fail at once with "no pod carries any of these labels".
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.testing.e2e import E2ECluster, deployment, gate, service, wait_for

GROUP = "widgets.deploy-gate.test"
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": f"widgets.{GROUP}"},
       "spec": {"group": GROUP, "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
HTTPD = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo ok > /www/index.html && "
                     "httpd -f -p 8080 -h /www & wait"]


@pytest.fixture(scope="module")
def widget_crd(cluster: E2ECluster) -> None:
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(CRD))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/widgets.{GROUP}", "--timeout=60s")


def _widget_set(tmp_path: Path, selector: dict[str, str]) -> Path:
    widget = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "main"}, "spec": {"size": 1}}
    other = deployment("other", ports=[{"name": "http", "containerPort": 8080}], command=HTTPD)
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "set.yaml").write_text(yaml.safe_dump_all([widget, service("widget-main", selector), other]))
    (directory / "gate.yaml").write_text("endpoints_timeout: 25s\nrollout_timeout: 90s\n")
    return directory


def _operator(cluster: E2ECluster, namespace: str, delay: float) -> threading.Thread:
    """Creates the widget's Deployment `delay` seconds after the Widget exists, like its operator would."""
    def reconcile() -> None:
        wait_for("the widget", lambda: cluster.kubectl("-n", namespace, "get", "widget", "main",
                                                       check=False).returncode == 0, timeout=30)
        time.sleep(delay)
        made = deployment("widget-main", labels={"app": "widget-main"}, command=HTTPD,
                          ports=[{"name": "http", "containerPort": 8080}])
        cluster.kubectl("-n", namespace, "apply", "-f", "-", input_text=yaml.safe_dump(made))

    thread = threading.Thread(target=reconcile, daemon=True)
    thread.start()
    return thread


@pytest.mark.usefixtures("widget_crd")
def test_pods_an_operator_creates_later_are_waited_for(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    directory = _widget_set(tmp_path, {"app": "widget-main"})
    cluster.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    operator = _operator(cluster, namespace, delay=8)
    started = time.monotonic()
    result = gate(cluster, "verify", "-f", str(directory), "-n", namespace)
    elapsed = time.monotonic() - started
    operator.join(timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed >= 8, f"passed after {elapsed:.1f} s, before the operator created the pods"


@pytest.mark.usefixtures("widget_crd")
def test_a_selector_nobody_satisfies_fails_at_the_deadline_naming_the_custom_resource(
        cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    directory = _widget_set(tmp_path, {"app": "widget-nobody-makes"})
    cluster.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    started = time.monotonic()
    result = gate(cluster, "verify", "-f", str(directory), "-n", namespace)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert elapsed >= 25, f"failed after {elapsed:.1f} s, before the endpoints deadline (25 s)"
    first = result.stdout.splitlines()[0]
    assert "service/widget-main selects app=widget-nobody-makes" in first
    assert "waited for the endpoints deadline: pods may come from widget/main" in first


@pytest.mark.usefixtures("widget_crd")
def test_a_custom_resource_already_in_the_namespace_also_counts(cluster: E2ECluster, namespace: str,
                                                                tmp_path: Path) -> None:
    """The Widget was applied earlier (not touched now): verify finds it in the cluster before failing."""
    directory = _widget_set(tmp_path, {"app": "widget-main"})
    cluster.kubectl("-n", namespace, "apply", "-f", str(directory / "set.yaml"))
    touched = tmp_path / "touched.yaml"
    objects = [o for o in yaml.safe_load_all((directory / "set.yaml").read_text()) if o["kind"] != "Widget"]
    touched.write_text(yaml.safe_dump_all(objects))
    operator = _operator(cluster, namespace, delay=8)
    result = gate(cluster, "verify", "-f", str(touched), "-n", namespace)
    operator.join(timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
