"""deploy-gate against its peers (kubectl loops, kstatus, helm --wait) at N touched Services, side by side.

Uses the test harness's real control plane with kwok fake nodes, so thousands
of pods turn Ready without containers while the scheduler, the controllers and
the EndpointSlice controller do the real work. Each tool runs with its own
client identity, which a FlowSchema of its own matches, so the API server's
`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}` counts
exactly that tool's requests. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polling2
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.cluster import Cluster as GateCluster  # noqa: E402
from gate.cluster import Watcher, WatchEvent  # noqa: E402
from gate.endpoints import ready_endpoints  # noqa: E402
from gate.kinds import BUILTIN_RESOURCES  # noqa: E402
from tests.cluster import build, config, pki  # noqa: E402
from tests.cluster.cluster import FAKE_NODE_ANNOTATION, Cluster  # noqa: E402

TOOLS = ("deploy-gate", "deploy-gate-fail-fast", "kubectl-loop", "kubectl-wait", "kstatus", "helm", "helm4")
# The Helm majors, each its own binary (tests/cluster/config.py); both upgrade the one release, as a user
# moving from Helm 3 to 4 does. Helm 4's `--wait` waits with kstatus (its `watcher` strategy, the default).
HELMS = {"helm": ("--wait",), "helm4": ("--wait=watcher",)}
# deploy-gate --fail-fast differs only when a check fails: it runs in the incident alone.
INCIDENT_ONLY = ("deploy-gate-fail-fast",)
SCENARIOS = ("ready", "after apply", "incident")
DEADLINE = 600  # seconds, every tool's own deadline in "ready" and "after apply"
# One release owns every bench Deployment and Service; kubectl applies them with the metadata helm adopts by.
RELEASE, RELEASE_NAMESPACE = "bench", "bench-0"
HELM_OWNED = {"labels": {"app.kubernetes.io/managed-by": "Helm"},
              "annotations": {"meta.helm.sh/release-name": RELEASE,
                              "meta.helm.sh/release-namespace": RELEASE_NAMESPACE}}
# Flux's client rate limits, as kstatus-wait has them; helm's own defaults are client-go's 5 requests/s, burst 100.
HELM_RATE_LIMITS = ("--qps", "50", "--burst-limit", "300")
KSTATUS_WAIT = config.GoModule("kstatus-wait", {"kstatus-wait": "."}, root=ROOT / "bench")
PODS_PER_FAKE_NODE = 100
# A rollout surges: 2 old + 1 new pod per Deployment at the peak (maxSurge 25% of 2 rounds up to 1).
PEAK_PODS_PER_SERVICE = 3


def rolled_out(deployment: dict) -> bool:
    """What `kubectl rollout status` waits for: the current generation observed, every replica updated and
    available, no old one left. The benchmark's own rule, not deploy-gate's: it judges the tools."""
    status, want = deployment.get("status") or {}, deployment["spec"].get("replicas", 1)
    return status.get("observedGeneration") == deployment["metadata"].get("generation") and \
        status.get("replicas") == status.get("updatedReplicas") == status.get("availableReplicas") == want


def workload(n: int, namespaces: int, revision: int, broken: bool = False) -> list[dict]:
    """N Deployments and N Services (and their namespaces); a new revision is a new pod template, so every
    Deployment rolls out again. Broken is the incident: svc-0 selects `tier: backend`, which no pod has."""
    documents: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{i}"}}
                             for i in range(namespaces)]
    for index in range(n):
        name, namespace = f"svc-{index}", f"bench-{index % namespaces}"
        labels = {"app": name}
        selector = {**labels, "tier": "backend"} if broken and index == 0 else dict(labels)
        documents.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"bench": "true", **HELM_OWNED["labels"]},
                         "annotations": HELM_OWNED["annotations"]},
            "spec": {"replicas": 2, "selector": {"matchLabels": dict(labels)}, "template": {
                "metadata": {"labels": labels, "annotations": {"bench/revision": str(revision)}},
                "spec": {"nodeSelector": {"type": "kwok"},
                         "tolerations": [{"key": FAKE_NODE_ANNOTATION, "operator": "Exists",
                                          "effect": "NoSchedule"}],
                         "containers": [{"name": "app", "image": "fake.invalid/app:1",
                                         "ports": [{"containerPort": 8080}]}]}}}})
        documents.append({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": name, "namespace": namespace, **HELM_OWNED},
                          "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]}})
    return documents


def object_names(documents: list[dict]) -> list[str]:
    """kstatus-wait's input: `kubectl apply -o name` with the namespace in front (NS/RESOURCE[.GROUP]/NAME)."""
    names = []
    for document in documents:
        group = document["apiVersion"].rpartition("/")[0]
        resource = document["kind"].lower() + (f".{group}" if group else "")
        namespace = document["metadata"].get("namespace")
        names.append(f"{namespace + '/' if namespace else ''}{resource}/{document['metadata']['name']}")
    return names


def write_chart(directory: Path, documents: list[dict]) -> Path:
    """The same Deployments and Services as a chart, one template per namespace, literally (no values: the
    chart of the next revision is written anew, so `helm upgrade` applies exactly what kubectl would)."""
    templates = directory / "templates"
    templates.mkdir(parents=True, exist_ok=True)  # the same revision is written again for each tool
    (directory / "Chart.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v2", "name": RELEASE, "version": "0.1.0", "description": "deploy-gate's benchmark set"}))
    per_namespace: dict[str, list[dict]] = {}
    for document in documents:
        if document["kind"] != "Namespace":  # created by the benchmark's apply: the release owns no namespace
            per_namespace.setdefault(document["metadata"]["namespace"], []).append(document)
    for namespace, items in per_namespace.items():
        (templates / f"{namespace}.yaml").write_text(yaml.safe_dump_all(items))
    return directory


def write_workload(path: Path, documents: list[dict]) -> Path:
    """The manifests at path; beside them (same stem) the kstatus object list and the chart of the same objects."""
    path.write_text(yaml.safe_dump_all(documents))
    path.with_suffix(".objects").write_text("\n".join(object_names(documents)) + "\n")
    write_chart(path.with_suffix(".chart"), documents)
    return path


class RolloutClock:
    """Watches EndpointSlices and Deployments (admin identity) and stamps, on this machine's clock, the last
    endpoint turning ready and the last Deployment turning complete (what `kubectl rollout status` waits for).

    Removals of old endpoints come after a rollout's verdict; the endpoint moment that counts is the last
    new ready address. The gap between the two stamps is the control plane finishing the rollouts (scaling
    down the old ReplicaSets); no tool that checks rollouts can answer before the second.
    """

    def __init__(self, namespaces: int) -> None:
        self.cluster = GateCluster(str(config.ADMIN_KUBECONFIG))
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.stop = threading.Event()
        self.watchers = [Watcher(self.cluster, BUILTIN_RESOURCES[kind], f"bench-{i}", self.events, self.stop)
                         for i in range(namespaces) for kind in ("EndpointSlice", "Deployment")]
        self.last_ready = 0.0
        self.last_complete = 0.0
        self.synced = 0
        self.ready: dict[str, set[str]] = {}  # slice -> ready addresses seen
        self.complete: dict[str, bool] = {}  # deployment -> complete when last seen

    def _note(self, event: WatchEvent) -> tuple[bool, bool]:
        """Record the state; (an address turned ready, a Deployment turned complete)."""
        turned_ready = turned_complete = False
        for item in event.objects:
            name = f"{item['metadata'].get('namespace')}/{item['metadata']['name']}"
            if event.resource.kind == "EndpointSlice":
                # deploy-gate's readiness rule, which gate.endpoints counts per slice, applied to one endpoint
                ready = {address for endpoint in item.get("endpoints") or []
                         if ready_endpoints({"endpoints": [endpoint]})
                         for address in endpoint.get("addresses") or []}
                turned_ready |= bool(ready - self.ready.get(name, set()))
                self.ready[name] = ready
            else:
                complete = rolled_out(item)
                turned_complete |= complete and not self.complete.get(name)
                self.complete[name] = complete
        return turned_ready, turned_complete

    def __enter__(self) -> RolloutClock:
        for watcher in self.watchers:
            watcher.start()
        while self.synced < len(self.watchers):  # changes count only once every list is in
            event = self.events.get(timeout=60)
            self._note(event)
            self.synced += event.type == "SYNCED"
        self.consumer = threading.Thread(target=self._consume, daemon=True)
        self.consumer.start()
        return self

    def _consume(self) -> None:
        """Stamp each change as it arrives (a queue read later would stamp the reading, not the change)."""
        while not self.stop.is_set():
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.type in ("ADDED", "MODIFIED"):
                turned_ready, turned_complete = self._note(event)
                now = time.time()
                self.last_ready = now if turned_ready else self.last_ready
                self.last_complete = now if turned_complete else self.last_complete

    def __exit__(self, *_: object) -> None:
        self.stop.set()


@dataclass
class Sample:
    wall: float
    requests: int
    rss_kb: int
    cpu: float  # user + system seconds of the process and every child it waited for (all the kubectl calls)
    latency: float | None = None  # verdict minus the arrival of the last EndpointSlice change
    after_rollouts: float | None = None  # verdict minus the last Deployment turning complete
    first_request: float | None = None  # process start to its first API request
    first_request_cpu: float | None = None  # the CPU time the process had used by then
    watches: int | None = None
    first_failure: float | None = None  # deploy-gate: its earliest failed check's seconds (JSON report)
    verdict: str = "pass"  # pass, fail (before the deadline) or timeout
    apply: float | None = None  # seconds of the kubectl apply before the tool (helm applies inside its wall time)


@dataclass
class Results:
    rows: dict[tuple[int, str, str], list[Sample]] = field(default_factory=dict)

    def add(self, n: int, scenario: str, tool: str, sample: Sample) -> None:
        self.rows.setdefault((n, scenario, tool), []).append(sample)


class Bench:
    def __init__(self, cluster: Cluster, work: Path, binaries: dict[str, Path]) -> None:
        self.cluster, self.work, self.binaries = cluster, work, binaries
        self.kubectl = binaries["kubectl"]
        self.kubeconfigs = {tool: self._identity(tool) for tool in TOOLS}
        # deploy-gate runs from bytecode, as pip and the image install it: gate/ and its dependencies compiled
        # once, untimed (gitignored __pycache__), and with PYTHONDONTWRITEBYTECODE (set here) dropped.
        self.gate_env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "gate"),
                        sysconfig.get_paths()["purelib"]], env=self.gate_env, check=True, timeout=600)
        # helm's own cache and config under the run's directory: nothing of the user's, nothing left behind.
        self.helm_env = {**os.environ, **{f"HELM_{kind}_HOME": str(work / "helm" / kind.lower())
                                          for kind in ("CACHE", "CONFIG", "DATA")}}

    def admin(self, *args: str, input_text: str | None = None) -> str:
        return self.cluster.kubectl(*args, input_text=input_text)

    def _identity(self, tool: str) -> Path:
        """A client certificate, cluster-admin rights, and a FlowSchema counting this tool's requests."""
        user = f"bench-{tool}"
        path = pki.client_kubeconfig(user)
        documents = [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": user},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "User", "name": user}]},
            {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": user},
             "spec": {"matchingPrecedence": 500, "priorityLevelConfiguration": {"name": "exempt"},
                      "rules": [{"subjects": [{"kind": "User", "user": {"name": user}}],
                                 "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                    "namespaces": ["*"], "clusterScope": True}],
                                 "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}},
        ]
        self.admin("apply", "-f", "-", input_text=yaml.safe_dump_all(documents))
        return path

    def requests_of(self, tool: str) -> int:
        metrics = self.admin("get", "--raw", "/metrics")
        prefix = f'apiserver_flowcontrol_dispatched_requests_total{{flow_schema="bench-{tool}"'
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines() if line.startswith(prefix))

    # --- the workload ----------------------------------------------------------------------

    def manifests(self, n: int, namespaces: int, revision: int, broken: bool = False) -> Path:
        """The workload as one file, beside it the kstatus object list and the chart of the same objects."""
        name = f"n{n}-r{revision}{'-broken' if broken else ''}.yaml"
        return write_workload(self.work / name, workload(n, namespaces, revision, broken))

    def clean(self) -> None:
        names = self.admin("get", "namespaces", "-o", "name").split()
        bench = [name for name in names if name.startswith("namespace/bench-")]
        if bench:
            self.admin("delete", *bench, "--wait=true", "--timeout=900s")

    def apply(self, path: Path) -> None:
        """kubectl apply, one process per namespace at once: one sequential apply of 2,000 objects takes minutes."""
        documents = list(yaml.safe_load_all(path.read_text()))
        groups: dict[str, list[dict]] = {}
        for document in documents:
            key = document["metadata"].get("namespace") or ""
            groups.setdefault(key, []).append(document)
        cluster_scoped = groups.pop("", [])
        files = []
        for key, items in [("cluster", cluster_scoped), *groups.items()]:
            if items:
                files.append(path.with_suffix(f".{key}.apply.yaml"))
                files[-1].write_text(yaml.safe_dump_all(items))
        base = [str(self.kubectl), "--kubeconfig", str(config.ADMIN_KUBECONFIG), "apply", "-f"]
        subprocess.run([*base, str(files[0])], check=True, capture_output=True, timeout=900)
        running = [subprocess.Popen([*base, str(f)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                   for f in files[1:]]
        for process in running:
            if process.wait(timeout=900) != 0:
                raise RuntimeError(f"kubectl apply failed: {process.stderr.read() if process.stderr else ''}")

    def helm(self, tool: str, manifests: Path, kubeconfig: Path, *flags: str) -> list[str]:
        """`helm upgrade --install` of the manifests' chart: the release in bench-0, its objects everywhere."""
        return [str(self.binaries[tool]), "upgrade", "--install", RELEASE, str(manifests.with_suffix(".chart")),
                "--namespace", RELEASE_NAMESPACE, "--kubeconfig", str(kubeconfig), *HELM_RATE_LIMITS, *flags]

    def deploy(self, tool: str, manifests: Path) -> None:
        """Bring the objects to the manifests, untimed, the way the tool's users do: helm's release must see
        its own changes (a key kubectl removes from a selector would stay for helm's next three-way merge)."""
        if tool in HELMS:
            subprocess.run(self.helm(tool, manifests, config.ADMIN_KUBECONFIG), env=self.helm_env, check=True,
                           capture_output=True, timeout=900)
        else:
            self.apply(manifests)

    def change(self, tool: str, manifests: Path) -> float:
        """The change a measured run starts from: kubectl apply (its seconds), except for helm, whose
        `upgrade --install --wait` applies it itself inside the measured run (0)."""
        if tool in HELMS:
            return 0.0
        started = time.time()
        self.apply(manifests)
        return time.time() - started

    def wait_ready(self, namespaces: int) -> None:
        """Every bench Deployment fully rolled out: one cluster-wide list per poll (not a measured tool)."""
        def done() -> bool:
            items = json.loads(self.admin("get", "deployments", "-A", "-l", "bench=true", "-o", "json"))["items"]
            return len(items) > 0 and all(rolled_out(d) for d in items)
        polling2.poll(done, step=1, timeout=900)

    # --- the tools ---------------------------------------------------------------------------

    def loop_script(self, n: int, namespaces: int, deadline: int) -> Path:
        """The seed's prevention step, literally: rollout status per Deployment, then poll each Service."""
        lines = ["set -e", f'k="{self.kubectl} --kubeconfig {self.kubeconfigs["kubectl-loop"]}"']
        for index in range(n):
            lines.append(f"$k -n bench-{index % namespaces} rollout status deployment/svc-{index} "
                         f"--timeout={deadline}s >/dev/null")
        for index in range(n):
            namespace = f"bench-{index % namespaces}"
            query = "-o jsonpath='{.items[*].endpoints[*].addresses}'"
            lines.append(f'until [ -n "$($k -n {namespace} get endpointslices -l '
                         f'kubernetes.io/service-name=svc-{index} {query})" ]; do sleep 1; done')
        path = self.work / f"loop-{n}-{deadline}.sh"
        path.write_text("\n".join(lines) + "\n")
        return path

    def wait_script(self, namespaces: int, deadline: int) -> Path:
        k = f"{self.kubectl} --kubeconfig {self.kubeconfigs['kubectl-wait']}"
        lines = [f"{k} -n bench-{i} wait --for=condition=Available deployment --all --timeout={deadline}s "
                 ">/dev/null" for i in range(namespaces)]
        path = self.work / f"wait-{namespaces}-{deadline}.sh"
        path.write_text("set -e\n" + "\n".join(lines) + "\n")
        return path

    def command(self, tool: str, n: int, namespaces: int, manifests: Path,
                deadline: int) -> tuple[list[str], dict[str, str]]:
        """The tool's command line, every one with the same deadline."""
        kubeconfig = self.kubeconfigs[tool]
        if tool.startswith("deploy-gate"):
            env = {**self.gate_env, "KUBECONFIG": str(kubeconfig), "DEPLOY_GATE_TRACE": "1"}
            return [sys.executable, "-m", "gate", "verify", "-f", str(manifests), "-o", "json",
                    "--rollout-timeout", str(deadline), "--endpoints-timeout", str(deadline),
                    *(["--fail-fast"] if tool == "deploy-gate-fail-fast" else [])], env
        if tool == "kstatus":
            return [str(self.binaries["kstatus-wait"]), "-kubeconfig", str(kubeconfig), "-timeout", f"{deadline}s",
                    "-f", str(manifests.with_suffix(".objects"))], dict(os.environ)
        if tool in HELMS:
            return self.helm(tool, manifests, kubeconfig, *HELMS[tool], "--timeout", f"{deadline}s"), self.helm_env
        script = self.loop_script(n, namespaces, deadline) if tool == "kubectl-loop" else \
            self.wait_script(namespaces, deadline)
        return ["bash", str(script)], dict(os.environ)

    def measure(self, tool: str, n: int, namespaces: int, manifests: Path, clock: RolloutClock | None,
                deadline: int = DEADLINE, must_pass: bool = True) -> Sample:
        """Run one tool once; with a clock, the apply was just issued and latency is measured. A tool that has
        not ended 10 s after its deadline (the kubectl loop polls endpoints without one) is killed."""
        argv, env = self.command(tool, n, namespaces, manifests, deadline)
        before = self.requests_of(tool)
        started = time.time()
        process = subprocess.Popen(["/usr/bin/time", "-f", "maxrss=%M cpu=%U+%S", "timeout", "--kill-after=5",
                                    str(deadline + 10), *argv], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = process.communicate(timeout=deadline + 60)
        ended = time.time()
        result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
        if result.returncode != 0:
            report = self.work.parent / f"deploy-gate-bench-{tool}-{n}-exit-{result.returncode}.txt"
            report.write_text(result.stdout + "\n" + result.stderr)
            if must_pass:
                raise RuntimeError(f"{tool} failed ({result.returncode}); its whole output is in {report}")
        usage = dict(pair.split("=") for pair in next(
            line for line in result.stderr.splitlines() if line.startswith("maxrss=")).split())
        user, system = (float(seconds) for seconds in usage["cpu"].split("+"))
        sample = Sample(ended - started, self.requests_of(tool) - before, int(usage["maxrss"]), user + system)
        if result.returncode != 0:
            sample.verdict = "timeout" if sample.wall >= deadline else "fail"
        for line in result.stderr.splitlines():
            if "trace: first API request at" in line:
                words = line.split()
                sample.first_request = float(words[words.index("at") + 1]) - started
                sample.first_request_cpu = float(words[words.index("after") + 1])
            if "trace: requests=" in line:
                sample.watches = int(line.split("watches=")[1].split()[0])
        if tool.startswith("deploy-gate") and result.returncode == 1:
            failed = [f["seconds"] for f in json.loads(result.stdout)["findings"] if f["outcome"] == "failed"]
            sample.first_failure = min(failed) if failed else None
        if clock is not None and sample.verdict == "pass":
            time.sleep(0.5)  # changes still in flight when the tool ended
            sample.latency = ended - clock.last_ready
            sample.after_rollouts = ended - clock.last_complete
        return sample


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(results: Results) -> str:
    header = ("N", "scenario", "tool", "verdict", "wall s", "x gate", "with apply s", "latency s",
              "after rollouts s", "1st failure s", "API requests", "watches", "CPU s", "peak RSS MB", "1st request s",
              "its CPU s")
    rows = [header]
    for (n, scenario, tool), samples in sorted(results.rows.items(), key=lambda kv: (
            kv[0][0], SCENARIOS.index(kv[0][1]), TOOLS.index(kv[0][2]))):
        gate_wall = median([s.wall for s in results.rows.get((n, scenario, "deploy-gate"), [])])
        wall = median([s.wall for s in samples])
        latencies = [s.latency for s in samples if s.latency is not None]
        after_rollouts = [s.after_rollouts for s in samples if s.after_rollouts is not None]
        firsts = [s.first_request for s in samples if s.first_request is not None]
        firsts_cpu = [s.first_request_cpu for s in samples if s.first_request_cpu is not None]
        watches = [s.watches for s in samples if s.watches is not None]
        first_failures = [s.first_failure for s in samples if s.first_failure is not None]
        with_apply = [s.wall + s.apply for s in samples if s.apply is not None]
        verdicts = sorted({s.verdict for s in samples})
        rows.append((str(n), scenario, tool, "/".join(verdicts), f"{wall:.2f}", f"{wall / gate_wall:.1f}x",
                     f"{median(with_apply):.2f}" if with_apply else "-",
                     f"{median(latencies):.2f}" if latencies else "-",
                     f"{median(after_rollouts):.2f}" if after_rollouts else "-",
                     f"{median(first_failures):.2f}" if first_failures else "-",
                     f"{median([s.requests for s in samples]):.0f}",
                     f"{median(watches):.0f}" if watches else "-",
                     f"{median([s.cpu for s in samples]):.1f}",
                     f"{median([s.rss_kb for s in samples]) / 1024:.0f}",
                     f"{median(firsts):.2f}" if firsts else "-",
                     f"{median(firsts_cpu):.2f}" if firsts_cpu else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i >= 4 else cell.ljust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))) for row in rows)


@contextlib.contextmanager
def _stopped_after(cluster: Cluster) -> Iterator[None]:
    """The cluster goes down when the run ends, however it ends."""
    try:
        yield
    finally:
        cluster.down()


def run(sizes: list[int], runs: int, tools: list[str], scenarios: list[str], incident_deadline: int,
        log: Callable[[str], None]) -> Results:
    binaries = {**build.build_all(log), **build.build_module(KSTATUS_WAIT, log)}
    cluster = Cluster(binaries, log)
    fake_nodes = max(2, math.ceil(PEAK_PODS_PER_SERVICE * max(sizes) / PODS_PER_FAKE_NODE) + 1)
    cluster.up(fake_nodes=fake_nodes)
    results = Results()
    with tempfile.TemporaryDirectory(prefix="deploy-gate-bench-") as work, _stopped_after(cluster):
        bench = Bench(cluster, Path(work), binaries)
        for n in sizes:
            namespaces = min(10, n)
            revision = 0
            bench.clean()  # objects of an earlier size or an interrupted run would skew `wait --all`
            bench.apply(bench.manifests(n, namespaces, revision))
            bench.wait_ready(namespaces)
            for helm in [tool for tool in tools if tool in HELMS][:1]:  # the release adopts them, untimed
                bench.deploy(helm, bench.manifests(n, namespaces, revision))
            log(f"N={n}: {n} Deployments x 2 replicas and {n} Services in {namespaces} namespaces are ready")
            for tool in [t for t in tools if t not in INCIDENT_ONLY] if "ready" in scenarios else []:
                for attempt in range(runs):
                    sample = bench.measure(tool, n, namespaces, bench.manifests(n, namespaces, revision), None,
                                           must_pass=tool == "deploy-gate")
                    results.add(n, "ready", tool, sample)
                    log(f"N={n} ready {tool} run {attempt + 1}: {sample.wall:.2f} s, {sample.requests} requests")
            for scenario in [s for s in SCENARIOS[1:] if s in scenarios]:
                incident = scenario == "incident"
                for tool in [t for t in tools if incident or t not in INCIDENT_ONLY]:
                    for attempt in range(runs):
                        revision += 1  # a new pod template: every Deployment rolls out again
                        manifests = bench.manifests(n, namespaces, revision, broken=incident)
                        # The incident's figure is the verdict's time: its rollouts go on after a failure.
                        with contextlib.nullcontext() if incident else RolloutClock(namespaces) as clock:
                            applied = bench.change(tool, manifests)
                            sample = bench.measure(tool, n, namespaces, manifests, clock,
                                                   incident_deadline if incident else DEADLINE,
                                                   must_pass=tool == "deploy-gate" and not incident)
                        sample.apply = applied
                        results.add(n, scenario, tool, sample)
                        log(f"N={n} {scenario} {tool} run {attempt + 1}: {sample.verdict} after {sample.wall:.2f} s"
                            + (f", latency {sample.latency:.2f} s" if sample.latency is not None else ""))
                        if incident:  # the fix, so the next run breaks a working set again
                            revision += 1
                            bench.deploy(tool, bench.manifests(n, namespaces, revision))
                        bench.wait_ready(namespaces)
            print(table(results), flush=True)  # figures so far, in case a later size is cut short
            print(flush=True)
    return results


def dry_run(sizes: list[int], directory: Path) -> None:
    """Write what each size applies (manifests, kstatus object list, chart; ready and incident) without a
    cluster, to read, `helm lint` or `helm template`."""
    for n in sizes:
        for name, broken in (("ready", False), ("incident", True)):
            path = write_workload(directory / f"n{n}-{name}.yaml", workload(n, min(10, n), 0, broken))
            print(path, path.with_suffix(".objects"), path.with_suffix(".chart"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and scenario (the median is shown)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--incident-deadline", type=int, default=60, metavar="SECONDS",
                        help="every tool's deadline in the incident (default 60)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR",
                        help="only write each size's manifests, kstatus object list and chart to DIR; no cluster")
    args = parser.parse_args()
    if args.dry_run:
        args.dry_run.mkdir(parents=True, exist_ok=True)
        dry_run(args.sizes, args.dry_run)
        return 0
    started = time.monotonic()
    results = run(args.sizes, args.runs, args.tools, args.scenarios, args.incident_deadline,
                  lambda line: print(f"[bench] {line}", file=sys.stderr, flush=True))
    print(table(results))
    print(f"\n(total {time.monotonic() - started:.0f} s; medians of {args.runs} runs; 'x gate' is the wall time "
          "ratio to deploy-gate; 'with apply' adds the kubectl apply before the tool (helm applies inside its "
          "wall time); latency: verdict minus the arrival of the last EndpointSlice change)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
