"""Issue 5's acceptance: the GitHub Action run as a runner runs it, Argo CD's Application as the
touched set, and the Argo CD hook's RBAC proven least-privileged on the real cluster."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cluster import config as harness
from tests.e2e.conftest import INCIDENT_NAMESPACE, E2ECluster, apply_example, wait_for
from tests.e2e.helpers import EXAMPLES, ROOT, gate, kubeconfig_for, wait_for_rbac

NAMESPACE = INCIDENT_NAMESPACE
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


HOOK_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:deploy-gate"  # the Argo CD hook's identity


def run_action(cluster: E2ECluster, inputs: dict[str, str], work: Path) -> tuple[int, dict[str, str], str]:
    """Run action.yml's composite steps the way a runner does: inputs only through `env:`, GITHUB_* files."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    values = {f"inputs.{name}": str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update({f"inputs.{name}": value for name, value in inputs.items()})
    values["github.action_path"] = str(ROOT)
    files = {name: work / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    env = {**cluster.env(), **{k: str(v) for k, v in files.items()}, "GITHUB_ACTIONS": "true",
           "RUNNER_TEMP": str(work.parent), "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_WORKSPACE": str(ROOT)}
    step_outputs: dict[str, dict[str, str]] = {}
    code = 0
    for step in action["runs"]["steps"]:
        if "uses" in step:  # actions/cache: without it the wheelhouse is built, as on a cache miss
            continue
        assert "${{" not in step["run"], "inputs must reach run: through env:, never interpolated"
        values.update({f"steps.{sid}.outputs.{key}": value for sid, outs in step_outputs.items()
                       for key, value in outs.items()})
        step_env = {k: EXPRESSION.sub(lambda m: values[m.group(1)], str(v)) for k, v in step.get("env", {}).items()}
        files["GITHUB_OUTPUT"].write_text("")
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                env={**env, **step_env}, cwd=ROOT, capture_output=True, text=True, timeout=600)
        for line in files["GITHUB_ENV"].read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        step_outputs[step.get("id", "")] = dict(
            line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text().splitlines() if "=" in line)
        code = result.returncode
        if code != 0:
            break
    outputs = {name: EXPRESSION.sub(lambda m: step_outputs.get(m.group(1).split(".")[1], {}).get(
        m.group(1).split(".")[3], ""), spec["value"]) for name, spec in action["outputs"].items()}
    return code, outputs, files["GITHUB_STEP_SUMMARY"].read_text() + result.stdout + result.stderr




def test_github_action_fails_on_the_incident_and_passes_the_fix(cluster: E2ECluster, incident_namespace: str,
                                                                 tmp_path: Path) -> None:
    work = tmp_path / "step"
    work.mkdir()
    apply_example(cluster, "incident-scenario-2")
    code, outputs, seen = run_action(cluster, {"manifests": "examples/incident-scenario-2/",
                                               "junit-path": str(tmp_path / "junit.xml")}, work)
    assert code == 1, seen
    # Only the endpoints check: the pairs to a Service without endpoints are explained, not probed.
    assert outputs["result"] == "failure" and outputs["failed"] == "1"
    assert "not probed: service/inference-api has no ready endpoints" in seen
    assert outputs["junit-path"] == str(tmp_path / "junit.xml")
    assert "tier=backend" in (work / "github_step_summary").read_text()
    assert "::error file=examples/incident-scenario-2/manifests/service.yaml,line=7" in seen
    assert "::notice file=examples/incident-scenario-2/manifests/inference-api.yaml,line=15" in seen  # the fix

    apply_example(cluster, "incident-scenario-2-fixed")
    code, outputs, seen = run_action(cluster, {"manifests": "examples/incident-scenario-2-fixed/",
                                               "junit-path": str(tmp_path / "fixed.xml")}, work)
    assert code == 0, seen
    assert outputs["result"] == "success" and outputs["failed"] == "0"


APPLICATION_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "applications.argoproj.io"},
    "spec": {"group": "argoproj.io", "scope": "Namespaced",
             "names": {"kind": "Application", "plural": "applications", "singular": "application",
                       "listKind": "ApplicationList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


def application(resources: list[tuple[str, str, str, str]]) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "inference-platform", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {"namespace": NAMESPACE}},
            "status": {"resources": [{"group": g, "version": "v1", "kind": k, "namespace": NAMESPACE, "name": n,
                                      "status": "Synced"} for g, k, n, _ in resources]}}


INCIDENT_RESOURCES = [("apps", "Deployment", "inference-api", ""), ("apps", "Deployment", "api-gateway", ""),
                      ("apps", "Deployment", "web-frontend", ""), ("", "Service", "inference-api", ""),
                      ("networking.k8s.io", "NetworkPolicy", "inference-api-netpol", "")]


@pytest.fixture
def argocd(cluster: E2ECluster) -> Iterator[None]:
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(APPLICATION_CRD))
    cluster.kubectl("wait", "--for=condition=Established", "crd/applications.argoproj.io", "--timeout=60s")
    cluster.kubectl("create", "namespace", "argocd", check=False)
    wait_for("the Application kind to be served", lambda: cluster.kubectl(
        "get", "applications.argoproj.io", "-A", check=False).returncode == 0, 30)
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(application(INCIDENT_RESOURCES)))
    yield
    cluster.kubectl("delete", "namespace", "argocd", "--wait=true", check=False)


def test_argocd_app_verifies_exactly_its_resources(cluster: E2ECluster, incident_namespace: str, argocd: None) -> None:
    apply_example(cluster, "incident-scenario-2")
    result = gate(cluster, "verify", "--argocd-app", "inference-platform", "-o", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    checked = {(f["object"]["kind"], f["object"]["name"]) for f in document["findings"]}
    assert checked == {("Deployment", "inference-api"), ("Deployment", "api-gateway"),
                       ("Deployment", "web-frontend"), ("Service", "inference-api")}
    failed = [f for f in document["findings"] if f["outcome"] == "failed"]
    assert len(failed) == 1 and "tier=backend" in failed[0]["message"]
    assert "networkpolicy/inference-api-netpol" in document["notes"][0]


def hook_config(tmp_path: Path, mode: str = "pod") -> Path:
    """The hook's gate.yaml (examples/argocd/config.yaml) in the given probe mode."""
    configmap = yaml.safe_load((EXAMPLES / "argocd" / "config.yaml").read_text())
    text = configmap["data"]["gate.yaml"]
    path = tmp_path / f"gate-{mode}.yaml"
    path.write_text(text.replace("  timeout: 20", f"  timeout: 20\n  mode: {mode}"))
    return path


def rbac_documents() -> list[dict]:
    return list(yaml.safe_load_all((ROOT / "examples" / "argocd" / "rbac.yaml").read_text()))


def test_argocd_hook_rbac_is_enough_and_every_rule_is_needed(cluster: E2ECluster, incident_namespace: str,
                                                             argocd: None, tmp_path: Path) -> None:
    apply_example(cluster, "incident-scenario-2-fixed")
    documents = rbac_documents()
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(documents))
    kubeconfig = kubeconfig_for(cluster, NAMESPACE, "deploy-gate", tmp_path / "hook.kubeconfig")
    env = {**cluster.env(), "KUBECONFIG": str(kubeconfig)}
    configs = {"pod": hook_config(tmp_path, "pod"), "exec": hook_config(tmp_path, "exec")}

    def run(mode: str = "pod") -> subprocess.CompletedProcess[str]:
        return gate(cluster, "verify", "--argocd-app", "inference-platform", "--config", str(configs[mode]),
                    "-o", "json", env=env)

    for mode in ("pod", "exec"):
        result = run(mode)
        assert result.returncode == 0, f"{mode}: {result.stdout}{result.stderr}"
        assert [f for f in json.loads(result.stdout)["findings"] if f["phase"] == "connectivity"]

    role = next(d for d in documents if d["kind"] == "Role" and d["metadata"]["namespace"] == NAMESPACE)
    app_role = next(d for d in documents if d["kind"] == "Role" and d["metadata"]["namespace"] == "argocd")
    cases = [(role, index) for index in range(len(role["rules"]))] + [(app_role, 0)]
    for owner, index in cases:
        rule = owner["rules"][index]
        trimmed = {**owner, "rules": [r for i, r in enumerate(owner["rules"]) if i != index]}
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(trimmed))
        resource, verbs = rule["resources"][0], rule["verbs"]
        group = rule["apiGroups"][0]
        wait_for_rbac(cluster, HOOK_ACCOUNT, verbs[0], f"{resource}.{group}" if group else resource,
                      owner["metadata"]["namespace"], allowed=False)
        mode = "exec" if resource == "pods/exec" else "pod"
        result = run(mode)
        name = f"{resource}.{group}" if group else resource
        if resource == "events":
            # Events are evidence for failures only: a passing run needs none.
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 3, f"without {name} {verbs}: {result.stdout}{result.stderr}"
            assert re.search(rf"cannot ({'|'.join(verbs)}) {re.escape(name)} in namespace", result.stderr), \
                result.stderr
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(owner))
    # Without namespaces, the report says what the evaluator could not see.
    cluster.kubectl("delete", "clusterrolebinding", "deploy-gate-read-namespaces-video-analytics")
    wait_for_rbac(cluster, HOOK_ACCOUNT, "list", "namespaces", None, allowed=False)
    result = run()
    assert result.returncode == 0
    assert "namespaces are not readable" in result.stdout
    leftover = cluster.kubectl("get", "pods", "-A", "-l", "deploy-gate.io/probe=true", "-o", "name").stdout
    assert leftover.strip() == ""



def namespaced_rbac() -> list[dict]:
    """The hook's RBAC without Argo CD's namespace: what the synthetic check (no Application) needs."""
    return [d for d in rbac_documents() if d["metadata"].get("namespace", NAMESPACE) == NAMESPACE]


def run_job(cluster: E2ECluster, *create: str, input_text: str | None = None) -> tuple[str, int, str]:
    """Create a Job in the incident's namespace; wait until it ends; (Complete|Failed, exit code, its logs)."""
    name = cluster.kubectl("-n", NAMESPACE, "create", *create, "-o", "name", input_text=input_text).stdout.strip()
    ended: list[str] = []

    def finished() -> bool:
        job = json.loads(cluster.kubectl("-n", NAMESPACE, "get", name, "-o", "json").stdout)
        ended[:] = [c["type"] for c in job["status"].get("conditions", [])
                    if c["type"] in ("Complete", "Failed") and c["status"] == "True"]
        return bool(ended)

    wait_for(f"{name} to end", finished, timeout=300, interval=2)
    pods = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "pods", "-l",
                                      f"batch.kubernetes.io/job-name={name.split('/')[1]}", "-o", "json").stdout)
    statuses = [s for p in pods["items"] for s in p["status"].get("containerStatuses", [])]
    code = statuses[0]["state"]["terminated"]["exitCode"]
    logs = cluster.kubectl("-n", NAMESPACE, "logs", name).stdout  # what the on-call engineer reads
    return ended[0], code, logs


def test_argocd_hook_job_runs_in_the_cluster(cluster: E2ECluster, incident_namespace: str, argocd: None) -> None:
    """examples/argocd as Argo CD runs it: the image, in-cluster config, uid 10001, a read-only root filesystem."""
    apply_example(cluster, "incident-scenario-2")
    for name in ("rbac.yaml", "config.yaml"):
        cluster.kubectl("apply", "-f", str(EXAMPLES / "argocd" / name))
    hook = (EXAMPLES / "argocd" / "hook-job.yaml").read_text()
    assert harness.DEPLOY_GATE_IMAGE in hook

    ended, code, logs = run_job(cluster, "-f", "-", input_text=hook)
    assert (ended, code) == ("Failed", 1), logs
    assert "tier=backend" in logs and "kubectl" in logs, logs  # the cause and the fix, in `kubectl logs`

    apply_example(cluster, "incident-scenario-2-fixed")
    ended, code, logs = run_job(cluster, "-f", "-", input_text=hook)
    assert (ended, code) == ("Complete", 0), logs
    assert "deployment/web-frontend -> inference-api:8080" in logs, logs  # the pairs were probed from the pod
    leftover = cluster.kubectl("get", "pods", "-A", "-l", "deploy-gate.io/probe=true", "-o", "name").stdout
    assert leftover.strip() == ""
