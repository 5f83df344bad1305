"""The pipelines run by what runs them for users, against the real cluster: the example GitHub workflow
by act, the GitLab pipeline by gitlab-ci-local, the Argo CD PostSync hook and the synthetic-check CronJob
as Jobs in the cluster from deploy-gate's image; Argo CD's Application as the touched set; the hook's RBAC
proven least-privileged."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import build
from tests.cluster import config as harness
from tests.testing.e2e import (
    ExampleSite,
    apply_example,
    exclusive,
    kubeconfig_for,
    retarget_examples,
    wait_for,
    wait_for_rbac,
)
from tests.testing.git import checkout_copy, commit_all


def hook_account(site: ExampleSite) -> str:
    """The Argo CD hook's identity."""
    return f"system:serviceaccount:{site.namespace}:deploy-gate"


# The example workflow as act runs it here: the steps that download actions from GitHub are dropped (the
# cluster exists already, the JUnit publisher is GitHub's UI); actions/checkout stays (act copies the
# workspace instead), and `deploy-gate/deploy-gate@<full commit SHA>` is a copy of this checkout, pinned by its
# commit (--local-repository).
DOWNLOADED_ACTIONS = ("helm/kind-action", "mikepenz/action-junit-report")
# actions/cache, used inside action.yml, cannot be downloaded here: this stand-in restores nothing, as on a
# cache miss, and the action builds its wheelhouse as it does on any first run.
CACHE_MISS_ACTION = {
    "name": "cache miss", "description": "offline stand-in for actions/cache: restores nothing",
    "inputs": {"path": {"required": True}, "key": {"required": True}},
    "outputs": {"cache-hit": {"description": "never", "value": "false"}},
    "runs": {"using": "composite", "steps": [{"shell": "bash", "run": "echo 'cache miss (offline)'"}]},
}


ACTION_PLACEHOLDER = "deploy-gate/deploy-gate@<full commit SHA>"


def workflow_for_act(examples: Path, example: str, commit: str) -> str:
    """examples/github/deploy.yml without downloaded actions, on the given example's directory, deploy-gate's
    action pinned to the given commit."""
    workflow = yaml.safe_load((examples / "github" / "deploy.yml").read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    job = workflow["jobs"]["deploy"]
    job["steps"] = [step for step in job["steps"] if not str(step.get("uses", "")).startswith(DOWNLOADED_ACTIONS)]
    for step in job["steps"]:
        if example != "incident-scenario-2-fixed" and step.get("with", {}).get("mode") == "lint":
            step["continue-on-error"] = True  # lint would stop the job first: let the gate show its own verdict
    text = yaml.safe_dump(workflow, sort_keys=False, width=200)
    assert ACTION_PLACEHOLDER in text, "the example no longer pins deploy-gate by commit"
    return text.replace("incident-scenario-2-fixed/", f"{example}/").replace(
        ACTION_PLACEHOLDER, f"deploy-gate/deploy-gate@{commit}")


def run_act(site: ExampleSite, example: str, work: Path) -> tuple[int, str]:
    """`act push` on the example workflow, on this host (-self-hosted), against the test cluster, in a copy of
    this checkout whose examples deploy into the site's namespace."""
    repo = checkout_copy(work / "repo")
    retarget_examples(repo / "examples", site.namespace)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                            check=True).stdout.strip()
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploy.yml").write_text(workflow_for_act(repo / "examples", example, commit))
    cache = work / "cache-action"
    cache.mkdir()
    (cache / "action.yml").write_text(yaml.safe_dump(CACHE_MISS_ACTION, sort_keys=False))
    env = site.cluster.env()
    result = subprocess.run(
        [str(build.binary("act")), "push", "-P", "ubuntu-latest=-self-hosted", "-W", ".github/workflows/deploy.yml",
         "--local-repository", f"deploy-gate/deploy-gate@{commit}={repo}",
         "--local-repository", f"actions/cache@v4={cache}",
         "--action-cache-path", str(work / "act"), "--no-cache-server",
         "--env", f"KUBECONFIG={env['KUBECONFIG']}", "--env", f"PATH={env['PATH']}"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def test_github_workflow_run_by_act_fails_on_the_incident_and_passes_the_fix(site: ExampleSite,
                                                                            tmp_path: Path) -> None:
    (tmp_path / "incident").mkdir()
    code, log = run_act(site, "incident-scenario-2", tmp_path / "incident")
    assert code != 0, log
    gate_outputs = re.findall(r"::set-output:: (result|failed|junit-path)=(\S+)", log)
    assert ("result", "failure") in gate_outputs and ("failed", "1") in gate_outputs, log
    assert ("junit-path", "deploy-gate-junit.xml") in gate_outputs, log
    # Only the endpoints check failed: the pairs to a Service without endpoints are explained, not probed.
    assert "not probed: service/inference-api has no ready endpoints" in log, log
    # Annotations at the Service's selector and, for the fix, at the pod template's labels.
    assert "::error file=examples/incident-scenario-2/manifests/service.yaml,line=7" in log, log
    assert "::notice file=examples/incident-scenario-2/manifests/inference-api.yaml,line=15" in log, log
    assert re.search(r"Summary - ## deploy-gate verify: .*lack tier=backend", log, re.S), log  # the step summary
    assert "deploy-gate found 1 failed check(s)" in log, log

    (tmp_path / "fixed").mkdir()
    code, log = run_act(site, "incident-scenario-2-fixed", tmp_path / "fixed")
    assert code == 0, log
    assert ("result", "success") in re.findall(r"::set-output:: (result)=(\S+)", log), log


APPLICATION_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "applications.argoproj.io"},
    "spec": {"group": "argoproj.io", "scope": "Namespaced",
             "names": {"kind": "Application", "plural": "applications", "singular": "application",
                       "listKind": "ApplicationList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


def application(namespace: str, resources: list[tuple[str, str, str, str]]) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "inference-platform", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {"namespace": namespace}},
            "status": {"resources": [{"group": g, "version": "v1", "kind": k, "namespace": namespace, "name": n,
                                      "status": "Synced"} for g, k, n, _ in resources]}}


INCIDENT_RESOURCES = [("apps", "Deployment", "inference-api", ""), ("apps", "Deployment", "api-gateway", ""),
                      ("apps", "Deployment", "web-frontend", ""), ("", "Service", "inference-api", ""),
                      ("networking.k8s.io", "NetworkPolicy", "inference-api-netpol", "")]


@pytest.fixture
def argocd(site: ExampleSite) -> Iterator[None]:
    """Argo CD's Application kind and namespace, and the example's Application over the site's namespace. Tests
    on other workers wait: they share Argo CD's namespace, its Role and the Application's name."""
    cluster = site.cluster
    with exclusive("argocd"):
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(APPLICATION_CRD))
        cluster.kubectl("wait", "--for=condition=Established", "crd/applications.argoproj.io", "--timeout=60s")
        cluster.kubectl("create", "namespace", "argocd", check=False)
        wait_for("the Application kind to be served", lambda: cluster.kubectl(
            "get", "applications.argoproj.io", "-A", check=False).returncode == 0, 30)
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(application(site.namespace, INCIDENT_RESOURCES)))
        yield
        cluster.kubectl("delete", "namespace", "argocd", "--wait=true", check=False)


def test_argocd_app_verifies_exactly_its_resources(site: ExampleSite, argocd: None) -> None:
    apply_example(site, "incident-scenario-2")
    result = site.gate("verify", "--argocd-app", "inference-platform", "-o", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    checked = {(f["object"]["kind"], f["object"]["name"]) for f in document["findings"]}
    assert checked == {("Deployment", "inference-api"), ("Deployment", "api-gateway"),
                       ("Deployment", "web-frontend"), ("Service", "inference-api")}
    failed = [f for f in document["findings"] if f["outcome"] == "failed"]
    assert len(failed) == 1 and "tier=backend" in failed[0]["message"]
    assert "networkpolicy/inference-api-netpol" in document["notes"][0]


def hook_config(site: ExampleSite, tmp_path: Path, mode: str = "pod") -> Path:
    """The hook's gate.yaml (examples/argocd/config.yaml) in the given probe mode."""
    configmap = yaml.safe_load((site.examples / "argocd" / "config.yaml").read_text())
    text = configmap["data"]["gate.yaml"]
    path = tmp_path / f"gate-{mode}.yaml"
    path.write_text(text.replace("  timeout: 20", f"  timeout: 20\n  mode: {mode}"))
    return path


def rbac_documents(site: ExampleSite) -> list[dict]:
    return list(yaml.safe_load_all((site.examples / "argocd" / "rbac.yaml").read_text()))


def test_argocd_hook_rbac_is_enough_and_every_rule_is_needed(site: ExampleSite, argocd: None,
                                                             tmp_path: Path) -> None:
    cluster, namespace = site.cluster, site.namespace
    apply_example(site, "incident-scenario-2-fixed")
    documents = rbac_documents(site)
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(documents))
    kubeconfig = kubeconfig_for(cluster, namespace, "deploy-gate", tmp_path / "hook.kubeconfig")
    env = {**cluster.env(), "KUBECONFIG": str(kubeconfig)}
    configs = {"pod": hook_config(site, tmp_path, "pod"), "exec": hook_config(site, tmp_path, "exec")}
    lonely = tmp_path / "lonely.yaml"  # a Service no pod will ever match
    lonely.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": "lonely", "namespace": namespace},
                                      "spec": {"selector": {"app": "nobody"}, "ports": [{"port": 80}]}}))
    cluster.kubectl("apply", "-f", str(lonely))

    def run(mode: str = "pod") -> subprocess.CompletedProcess[str]:
        return site.gate("verify", "--argocd-app", "inference-platform", "--config", str(configs[mode]),
                         "-o", "json", env=env)

    for mode in ("pod", "exec"):
        result = run(mode)
        assert result.returncode == 0, f"{mode}: {result.stdout}{result.stderr}"
        assert [f for f in json.loads(result.stdout)["findings"] if f["phase"] == "connectivity"]

    role = next(d for d in documents if d["kind"] == "Role" and d["metadata"]["namespace"] == namespace)
    app_role = next(d for d in documents if d["kind"] == "Role" and d["metadata"]["namespace"] == "argocd")
    cases = [(role, index) for index in range(len(role["rules"]))] + [(app_role, 0)]
    for owner, index in cases:
        rule = owner["rules"][index]
        trimmed = {**owner, "rules": [r for i, r in enumerate(owner["rules"]) if i != index]}
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(trimmed))
        resource, verbs = rule["resources"][0], rule["verbs"]
        group = rule["apiGroups"][0]
        wait_for_rbac(cluster, hook_account(site), verbs[0], f"{resource}.{group}" if group else resource,
                      owner["metadata"]["namespace"], allowed=False)
        mode = "exec" if resource == "pods/exec" else "pod"
        result = run(mode)
        name = f"{resource}.{group}" if group else resource
        denied = rf"cannot ({'|'.join(verbs)}) {re.escape(name)} in namespace"
        if resource in ("events", "replicasets"):
            # Evidence and explanations of failures only: a passing run needs neither.
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 3, f"without {name} {verbs}: {result.stdout}{result.stderr}"
            assert re.search(denied, result.stderr), result.stderr
        if resource == "replicasets":  # the first check that does not pass lists them, to name the workload
            failing = site.gate("verify", "-f", str(lonely), "--endpoints-timeout", "5", env=env)
            assert failing.returncode == 3, failing.stdout + failing.stderr
            assert re.search(denied, failing.stderr), failing.stderr
        cluster.kubectl("apply", "-f", "-", input_text=json.dumps(owner))
    cluster.kubectl("delete", "-f", str(lonely))
    # Without namespaces, the report says what the evaluator could not see.
    cluster.kubectl("delete", "clusterrolebinding", f"deploy-gate-read-namespaces-{namespace}")
    wait_for_rbac(cluster, hook_account(site), "list", "namespaces", None, allowed=False)
    result = run()
    assert result.returncode == 0
    assert "namespaces are not readable" in result.stdout
    assert site.probe_pods() == []


def namespaced_rbac(site: ExampleSite) -> list[dict]:
    """The hook's RBAC without Argo CD's namespace: what the synthetic check (no Application) needs."""
    return [d for d in rbac_documents(site) if d["metadata"].get("namespace", site.namespace) == site.namespace]


def run_job(site: ExampleSite, *create: str, input_text: str | None = None) -> tuple[str, int, str]:
    """Create a Job in the site's namespace; wait until it ends; (Complete|Failed, exit code, its logs)."""
    name = site.kubectl("create", *create, "-o", "name", input_text=input_text).stdout.strip()
    ended: list[str] = []

    def finished() -> bool:
        job = json.loads(site.kubectl("get", name, "-o", "json").stdout)
        ended[:] = [c["type"] for c in job["status"].get("conditions", [])
                    if c["type"] in ("Complete", "Failed") and c["status"] == "True"]
        return bool(ended)

    wait_for(f"{name} to end", finished, timeout=300, interval=2)
    pods = json.loads(site.kubectl("get", "pods", "-l", f"batch.kubernetes.io/job-name={name.split('/')[1]}",
                                   "-o", "json").stdout)
    statuses = [s for p in pods["items"] for s in p["status"].get("containerStatuses", [])]
    code = statuses[0]["state"]["terminated"]["exitCode"]
    logs = site.kubectl("logs", name).stdout  # what the on-call engineer reads
    return ended[0], code, logs


def test_argocd_hook_job_runs_in_the_cluster(site: ExampleSite, argocd: None) -> None:
    """examples/argocd as Argo CD runs it: the image, in-cluster config, uid 10001, a read-only root filesystem."""
    apply_example(site, "incident-scenario-2")
    for name in ("rbac.yaml", "config.yaml"):
        site.cluster.kubectl("apply", "-f", str(site.examples / "argocd" / name))
    hook = (site.examples / "argocd" / "hook-job.yaml").read_text()
    assert harness.DEPLOY_GATE_IMAGE in hook
    name = yaml.safe_load(hook)["metadata"]["name"]

    ended, code, logs = run_job(site, "-f", "-", input_text=hook)
    assert (ended, code) == ("Failed", 1), logs
    assert "tier=backend" in logs and "kubectl" in logs, logs  # the cause and the fix, in `kubectl logs`
    assert f"job.batch/{name}" in site.kubectl("get", "jobs", "-o", "name").stdout  # kept

    apply_example(site, "incident-scenario-2-fixed")
    # BeforeHookCreation: Argo CD deletes the previous hook by its name before the next sync creates it.
    site.kubectl("delete", "job", name, "--cascade=foreground", "--wait=true")
    ended, code, logs = run_job(site, "-f", "-", input_text=hook)
    assert (ended, code) == ("Complete", 0), logs
    assert "deployment/web-frontend -> inference-api:8080" in logs, logs  # the pairs were probed from the pod
    assert site.probe_pods() == []


def gitlab_ci_local() -> Path:
    """gitlab-ci-local as .ci/run installs it (npm, pinned), or a skip that says how to get it."""
    path = harness.CACHE_DIR / "node" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not path.exists():
        pytest.skip(f"gitlab-ci-local is not installed at {path}: .ci/run installs it with npm")
    return path


def run_gitlab_pipeline(site: ExampleSite, example: str, work: Path) -> tuple[int, str, Path]:
    """examples/gitlab/.gitlab-ci.yml run by gitlab-ci-local (shell executor) in a project holding the
    example's manifests and gate.yaml; deploy-gate installed from a copy of this checkout into a new venv."""
    checkout = checkout_copy(work / "checkout")
    project = work / "project"
    shutil.copytree(site.examples / example, project)
    shutil.copy2(site.examples / "gitlab" / ".gitlab-ci.yml", project / ".gitlab-ci.yml")
    commit_all(project)
    venv = work / "venv"  # what `image: python:3.11` provides: a Python whose pip installs for the job
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    env = site.cluster.env()
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    result = subprocess.run(
        [str(gitlab_ci_local()), "--force-shell-executor", "--home", str(work / "home"),
         "--variable", f"DEPLOY_GATE_SOURCE=file://{checkout}"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr, project


def test_gitlab_pipeline_run_by_gitlab_ci_local(site: ExampleSite, tmp_path: Path) -> None:
    (tmp_path / "incident").mkdir()
    code, log, project = run_gitlab_pipeline(site, "incident-scenario-2", tmp_path / "incident")
    assert code != 0, log
    reports = list(project.rglob("deploy-gate-junit.xml"))
    assert reports, log
    suites = ElementTree.parse(reports[0]).getroot()
    failures = [(case.get("name"), failure.text or "") for case in suites.iter("testcase")
                for failure in case.findall("failure")]
    assert len(failures) == 1 and "tier=backend" in failures[0][1], failures  # the cause, in the testcase body

    (tmp_path / "fixed").mkdir()
    code, log, _ = run_gitlab_pipeline(site, "incident-scenario-2-fixed", tmp_path / "fixed")
    assert code == 0, log


def check_gauges(text: str) -> dict[str, float]:
    """deploy_gate_check_passed by its `object` label, parsed as Prometheus parses the textfile."""
    return {sample.labels["object"]: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "deploy_gate_check_passed"}


def test_synthetic_check_cronjob_runs_in_the_cluster(site: ExampleSite, tmp_path: Path) -> None:
    """examples/synthetic-check triggered once on the fix (passes) and once after the label broke (fails);
    its metrics land in the textfile directory a node-exporter would read."""
    apply_example(site, "incident-scenario-2-fixed")
    site.cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(namespaced_rbac(site)))
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    textfile.chmod(0o777)  # as node-exporter's directory must be for uid 10001
    documents = list(yaml.safe_load_all((site.examples / "synthetic-check" / "cronjob.yaml").read_text()))
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    volumes = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    next(v for v in volumes if v["name"] == "metrics")["hostPath"]["path"] = str(textfile)
    site.cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(documents))

    ended, code, logs = run_job(site, "job", "--from=cronjob/deploy-gate-synthetic", "synthetic-fixed")
    assert (ended, code) == ("Complete", 0), logs
    written = textfile / "deploy-gate-synthetic.prom"
    gauges = check_gauges(written.read_text())
    assert gauges and all(value == 1 for value in gauges.values()), gauges
    check = subprocess.run([str(build.binary("promtool")), "check", "metrics"], input=written.read_text(),
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    apply_example(site, "incident-scenario-2")  # the incident's template: tier=backend is gone
    ended, code, logs = run_job(site, "job", "--from=cronjob/deploy-gate-synthetic", "synthetic-broken")
    assert (ended, code) == ("Failed", 1), logs
    assert "tier=backend" in logs, logs
    assert check_gauges(written.read_text())["service/inference-api"] == 0, logs
