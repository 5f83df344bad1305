"""deploy-gate against the kubectl loop at N touched Services, side by side, in one run.

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
from gate.endpoints import endpoint_ready  # noqa: E402
from gate.kinds import BUILTIN_RESOURCES  # noqa: E402
from tests.cluster import build, config, pki  # noqa: E402
from tests.cluster.cluster import FAKE_NODE_ANNOTATION, Cluster  # noqa: E402

TOOLS = ("deploy-gate", "kubectl-loop", "kubectl-wait")
SCENARIOS = ("ready", "after apply")
PODS_PER_FAKE_NODE = 100
# A rollout surges: 2 old + 1 new pod per Deployment at the peak (maxSurge 25% of 2 rounds up to 1).
PEAK_PODS_PER_SERVICE = 3


def rolled_out(deployment: dict) -> bool:
    """What `kubectl rollout status` waits for: the current generation observed, every replica updated and
    available, no old one left. The benchmark's own rule, not deploy-gate's: it judges the tools."""
    status, want = deployment.get("status") or {}, deployment["spec"].get("replicas", 1)
    return status.get("observedGeneration") == deployment["metadata"].get("generation") and \
        status.get("replicas") == status.get("updatedReplicas") == status.get("availableReplicas") == want


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
                ready = {address for endpoint in item.get("endpoints") or [] if endpoint_ready(endpoint)
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


@dataclass
class Results:
    rows: dict[tuple[int, str, str], list[Sample]] = field(default_factory=dict)

    def add(self, n: int, scenario: str, tool: str, sample: Sample) -> None:
        self.rows.setdefault((n, scenario, tool), []).append(sample)


class Bench:
    def __init__(self, cluster: Cluster, work: Path, kubectl: Path) -> None:
        self.cluster, self.work, self.kubectl = cluster, work, kubectl
        self.kubeconfigs = {tool: self._identity(tool) for tool in TOOLS}

    def admin(self, *args: str, input_text: str | None = None) -> str:
        return self.cluster.kubectl(*args, input_text=input_text)

    def _identity(self, tool: str) -> Path:
        """A client certificate, cluster-admin rights, and a FlowSchema counting this tool's requests."""
        user = f"bench-{tool}"
        pki._signed_cert(user, f"/CN={user}", "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                              "extendedKeyUsage=clientAuth\n")
        path = pki.write_kubeconfig(user)
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

    def manifests(self, n: int, namespaces: int, revision: int) -> Path:
        documents: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{i}"}}
                                 for i in range(namespaces)]
        for index in range(n):
            name, namespace = f"svc-{index}", f"bench-{index % namespaces}"
            labels = {"app": name}
            documents.append({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": {"bench": "true"}},
                "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                    "metadata": {"labels": labels, "annotations": {"bench/revision": str(revision)}},
                    "spec": {"nodeSelector": {"type": "kwok"},
                             "tolerations": [{"key": FAKE_NODE_ANNOTATION, "operator": "Exists",
                                              "effect": "NoSchedule"}],
                             "containers": [{"name": "app", "image": "fake.invalid/app:1",
                                             "ports": [{"containerPort": 8080}]}]}}}})
            documents.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                              "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}})
        path = self.work / f"n{n}-r{revision}.yaml"
        path.write_text(yaml.safe_dump_all(documents))
        return path

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

    def wait_ready(self, namespaces: int) -> None:
        """Every bench Deployment fully rolled out: one cluster-wide list per poll (not a measured tool)."""
        def done() -> bool:
            items = json.loads(self.admin("get", "deployments", "-A", "-l", "bench=true", "-o", "json"))["items"]
            return len(items) > 0 and all(rolled_out(d) for d in items)
        polling2.poll(done, step=1, timeout=900)

    # --- the tools ---------------------------------------------------------------------------

    def loop_script(self, n: int, namespaces: int) -> Path:
        """The seed's prevention step, literally: rollout status per Deployment, then poll each Service."""
        lines = ["set -e", f'k="{self.kubectl} --kubeconfig {self.kubeconfigs["kubectl-loop"]}"']
        for index in range(n):
            lines.append(f"$k -n bench-{index % namespaces} rollout status deployment/svc-{index} --timeout=600s "
                         ">/dev/null")
        for index in range(n):
            namespace = f"bench-{index % namespaces}"
            query = "-o jsonpath='{.items[*].endpoints[*].addresses}'"
            lines.append(f'until [ -n "$($k -n {namespace} get endpointslices -l '
                         f'kubernetes.io/service-name=svc-{index} {query})" ]; do sleep 1; done')
        path = self.work / f"loop-{n}.sh"
        path.write_text("\n".join(lines) + "\n")
        return path

    def wait_script(self, namespaces: int) -> Path:
        k = f"{self.kubectl} --kubeconfig {self.kubeconfigs['kubectl-wait']}"
        lines = [f"{k} -n bench-{i} wait --for=condition=Available deployment --all --timeout=600s >/dev/null"
                 for i in range(namespaces)]
        path = self.work / f"wait-{namespaces}.sh"
        path.write_text("set -e\n" + "\n".join(lines) + "\n")
        return path

    def command(self, tool: str, n: int, namespaces: int, manifests: Path) -> tuple[list[str], dict[str, str]]:
        if tool == "deploy-gate":
            env = {**os.environ, "KUBECONFIG": str(self.kubeconfigs[tool]), "DEPLOY_GATE_TRACE": "1"}
            return [sys.executable, "-m", "gate", "verify", "-f", str(manifests), "-o", "json",
                    "--endpoints-timeout", "600"], env
        script = self.loop_script(n, namespaces) if tool == "kubectl-loop" else self.wait_script(namespaces)
        return ["bash", str(script)], dict(os.environ)

    def measure(self, tool: str, n: int, namespaces: int, manifests: Path, clock: RolloutClock | None) -> Sample:
        """Run one tool once; with a clock, the apply was just issued and latency is measured."""
        argv, env = self.command(tool, n, namespaces, manifests)
        before = self.requests_of(tool)
        started = time.time()
        process = subprocess.Popen(["/usr/bin/time", "-f", "maxrss=%M cpu=%U+%S", *argv], env=env, cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = process.communicate(timeout=3600)
        ended = time.time()
        result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
        if result.returncode != 0:
            report = self.work.parent / f"deploy-gate-bench-failure-{tool}-{n}.txt"
            report.write_text(result.stdout + "\n" + result.stderr)
            raise RuntimeError(f"{tool} failed ({result.returncode}); its whole output is in {report}")
        usage = dict(pair.split("=") for pair in next(
            line for line in result.stderr.splitlines() if line.startswith("maxrss=")).split())
        user, system = (float(seconds) for seconds in usage["cpu"].split("+"))
        sample = Sample(ended - started, self.requests_of(tool) - before, int(usage["maxrss"]), user + system)
        for line in result.stderr.splitlines():
            if "trace: first API request at" in line:
                words = line.split()
                sample.first_request = float(words[words.index("at") + 1]) - started
                sample.first_request_cpu = float(words[words.index("after") + 1])
            if "trace: requests=" in line:
                sample.watches = int(line.split("watches=")[1].split()[0])
        if clock is not None:
            time.sleep(0.5)  # changes still in flight when the tool ended
            sample.latency = ended - clock.last_ready
            sample.after_rollouts = ended - clock.last_complete
        return sample


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(results: Results) -> str:
    header = ("N", "scenario", "tool", "wall s", "x gate", "latency s", "after rollouts s", "API requests",
              "watches", "CPU s", "peak RSS MB", "1st request s", "its CPU s")
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
        rows.append((str(n), scenario, tool, f"{wall:.2f}", f"{wall / gate_wall:.1f}x",
                     f"{median(latencies):.2f}" if latencies else "-",
                     f"{median(after_rollouts):.2f}" if after_rollouts else "-",
                     f"{median([s.requests for s in samples]):.0f}",
                     f"{median(watches):.0f}" if watches else "-",
                     f"{median([s.cpu for s in samples]):.1f}",
                     f"{median([s.rss_kb for s in samples]) / 1024:.0f}",
                     f"{median(firsts):.2f}" if firsts else "-",
                     f"{median(firsts_cpu):.2f}" if firsts_cpu else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i >= 3 else cell.ljust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))) for row in rows)


@contextlib.contextmanager
def _stopped_after(cluster: Cluster) -> Iterator[None]:
    """The cluster goes down when the run ends, however it ends."""
    try:
        yield
    finally:
        cluster.down()


def run(sizes: list[int], runs: int, tools: list[str], log: Callable[[str], None]) -> Results:
    binaries = build.build_all(log)
    cluster = Cluster(binaries, log)
    fake_nodes = max(2, math.ceil(PEAK_PODS_PER_SERVICE * max(sizes) / PODS_PER_FAKE_NODE) + 1)
    cluster.up(fake_nodes=fake_nodes)
    results = Results()
    with tempfile.TemporaryDirectory(prefix="deploy-gate-bench-") as work, _stopped_after(cluster):
        bench = Bench(cluster, Path(work), binaries["kubectl"])
        for n in sizes:
            namespaces = min(10, n)
            revision = 0
            bench.clean()  # objects of an earlier size or an interrupted run would skew `wait --all`
            bench.apply(bench.manifests(n, namespaces, revision))
            bench.wait_ready(namespaces)
            log(f"N={n}: {n} Deployments x 2 replicas and {n} Services in {namespaces} namespaces are ready")
            for tool in tools:
                for attempt in range(runs):
                    sample = bench.measure(tool, n, namespaces, bench.manifests(n, namespaces, revision), None)
                    results.add(n, "ready", tool, sample)
                    log(f"N={n} ready {tool} run {attempt + 1}: {sample.wall:.2f} s, {sample.requests} requests")
            for tool in tools:
                for attempt in range(runs):
                    revision += 1
                    manifests = bench.manifests(n, namespaces, revision)
                    with RolloutClock(namespaces) as clock:
                        bench.apply(manifests)  # a new pod template: every Deployment rolls out again
                        sample = bench.measure(tool, n, namespaces, manifests, clock)
                    results.add(n, "after apply", tool, sample)
                    log(f"N={n} after-apply {tool} run {attempt + 1}: {sample.wall:.2f} s, latency "
                        f"{sample.latency:.2f} s")
                    bench.wait_ready(namespaces)
            print(table(results), flush=True)  # figures so far, in case a later size is cut short
            print(flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and scenario (the median is shown)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    args = parser.parse_args()
    started = time.monotonic()
    results = run(args.sizes, args.runs, args.tools, lambda line: print(f"[bench] {line}", file=sys.stderr,
                                                                         flush=True))
    print(table(results))
    print(f"\n(total {time.monotonic() - started:.0f} s; medians of {args.runs} runs; 'x gate' is the wall time "
          "ratio to deploy-gate; latency: verdict minus the arrival of the last EndpointSlice change)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
