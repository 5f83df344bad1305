"""Bring the single-node test cluster up, take it down, and say what runs.

The sequence mirrors upstream's hack/local-up-cluster.sh: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler as processes; containerd + kubelet +
kube-proxy as the node; then the add-ons (CoreDNS in a pod, kube-router's
NetworkPolicy firewall on the host, optionally kwok's fake nodes).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polling2
import yaml

from tests.cluster import config, dns, flux, images, node, pki, processes

# Order matters for `down`: reverse of start.
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE = ("containerd", "kubelet", "kube-proxy", "kube-router")
# Started on demand: kwok by `up --fake-nodes`, Flux's controllers by the one test that reconciles with them.
ADDONS = ("kwok", *(flux.process_name(controller) for controller in flux.CONTROLLERS))
REQUIRED = CONTROL_PLANE + NODE
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"


class ClusterError(RuntimeError):
    """The cluster could not be brought to the requested state; the message says where."""


def _wait(what: str, check: Callable[[], bool], timeout: float, component: str | None = None) -> None:
    """Poll check() until true; a component that exits meanwhile ends the wait with its log."""

    def ready() -> bool:
        if component and processes.running_pid(component) is None:
            raise ClusterError(f"{component} exited while waiting for {what}:\n{processes.tail(component)}")
        return check()

    try:
        polling2.poll(ready, step=0.25, timeout=timeout,
                      ignore_exceptions=(OSError, subprocess.SubprocessError, ValueError))
    except polling2.TimeoutException as timed_out:
        tail = f":\n{processes.tail(component)}" if component else ""
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}{tail}") from timed_out


class Cluster:
    """One test cluster on this machine; the binaries come from build.build_all()."""

    def __init__(self, binaries: dict[str, Path], log: Callable[[str], None] = print) -> None:
        self.binaries = binaries
        self.log = log
        self.kube = binaries["kube"]

    # --- helpers -------------------------------------------------------------

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(self.kube), "kubectl", "--kubeconfig", str(config.ADMIN_KUBECONFIG), *args],
            input=input_text, capture_output=True, text=True, timeout=180,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def ctr(self) -> list[str]:
        return ["ctr", "--address", str(config.CONTAINERD_SOCKET)]

    def is_running(self) -> bool:
        required = [n for n in REQUIRED if n != "kube-router" or not config.NO_NETPOL_MARKER.exists()]
        if any(processes.running_pid(name) is None for name in required):
            return False
        try:
            return self.kubectl("get", "--raw", "/readyz", check=False).strip() == "ok"
        except subprocess.SubprocessError:
            return False

    # --- faults (for the e2e tests) --------------------------------------------

    def kill(self, component: str) -> None:
        """SIGKILL one component this harness started, and wait until it is gone."""
        pid = processes.running_pid(component)
        if pid is None:
            raise ClusterError(f"{component} is not running")
        os.kill(pid, signal.SIGKILL)
        _wait(f"{component} gone", lambda: processes.running_pid(component) is None, 10)

    def restart(self, component: str, *extra: str) -> None:
        """Start a killed component again as `up` did (the API server with extra flags, if given); wait for it.

        An API server started after an outage brings the controller manager and the scheduler back anew, as
        leader election does in a real control plane (an outage past its renew deadline makes them exit and
        they are restarted). Left running, their informers back off for up to a minute after the outage:
        one test's outage was seen to hold the next test's pods back for 90 s."""
        if component == "kube-apiserver":
            was_down = processes.running_pid("kube-apiserver") is None
            self._start_apiserver(*extra)
            if was_down:
                for controller in ("kube-controller-manager", "kube-scheduler"):
                    processes.stop(controller)
                self._start_controllers()
            return
        starters = {"kube-controller-manager": self._start_controllers, "kube-scheduler": self._start_controllers,
                    "kubelet": self._start_kubelet}
        starters[component]()

    def disable_netpol(self) -> None:
        """Run on without a NetworkPolicy enforcer, as on a cluster whose network plugin ignores policies:
        stop kube-router and remove the rules it programmed (they would go on filtering otherwise)."""
        config.NO_NETPOL_MARKER.parent.mkdir(parents=True, exist_ok=True)
        config.NO_NETPOL_MARKER.touch()
        processes.stop("kube-router")
        node.remove_policy_rules()

    def enable_netpol(self) -> None:
        """Enforce NetworkPolicy again (kube-router programs every policy afresh)."""
        self._start_kube_router()
        config.NO_NETPOL_MARKER.unlink(missing_ok=True)

    # --- up ------------------------------------------------------------------

    def up(self, fake_nodes: int = 0, netpol: bool = True) -> Path:
        """Start everything (or reuse a running cluster) and return the admin kubeconfig.

        netpol=False: without the NetworkPolicy enforcer (see `disable_netpol`).
        """
        kubeconfig = self._up(fake_nodes)
        if not netpol:
            self.disable_netpol()
        elif config.NO_NETPOL_MARKER.exists():
            self.enable_netpol()
        return kubeconfig

    def _up(self, fake_nodes: int) -> Path:
        if self.is_running():
            self.log("cluster already running; reusing it")
            self.ensure_fake_nodes(fake_nodes)
            return config.ADMIN_KUBECONFIG
        if config.STATE_DIR.exists() or leftovers():
            # A partial cluster, or one whose processes died with their session: its etcd data,
            # mounts and rules must not leak into the new one. Taken down first, since the ports its
            # surviving daemons hold would read as someone else's below.
            self.log("a previous cluster left state behind; taking it down first")
            self.down()
        if clash := foreign():
            raise ClusterError(f"refusing to start: {clash}; this harness runs only on a machine without another "
                               "Kubernetes node")
        started = time.monotonic()
        node.prepare_host()
        pki.create_pki()
        self._start_etcd()
        self._start_containerd()  # independent of the control plane; overlaps its start
        self._start_apiserver()
        self._start_controllers()
        images.import_images(self.binaries, self.ctr(), self.log)
        self._start_kubelet()
        self._start_kube_proxy()
        self._start_kube_router()
        self._start_coredns()
        self.ensure_fake_nodes(fake_nodes)
        self.log(f"cluster up in {time.monotonic() - started:.1f} s")
        return config.ADMIN_KUBECONFIG

    def _start_etcd(self) -> None:
        client_url = f"http://127.0.0.1:{config.ETCD_CLIENT_PORT}"
        peer_url = f"http://127.0.0.1:{config.ETCD_PEER_PORT}"
        processes.start("etcd", [
            self.kube, "etcd", "--name", "default", "--data-dir", config.STATE_DIR / "etcd",
            "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"default={peer_url}", "--listen-metrics-urls", "",
            # A throwaway test store: fsync buys durability nobody needs here.
            "--unsafe-no-fsync", "--log-level", "warn",
        ])
        _wait("etcd health", lambda: b'"health":"true"' in subprocess.run(
            ["curl", "-s", f"{client_url}/health"], capture_output=True, timeout=5).stdout, 30, "etcd")

    def _start_containerd(self) -> None:
        config_file = config.STATE_DIR / "containerd.toml"
        config_file.write_text(node.containerd_config())
        config.CNI_CONF_DIR.mkdir(parents=True, exist_ok=True)
        (config.CNI_CONF_DIR / "10-deploy-gate.conflist").write_text(json.dumps(node.cni_config(), indent=2))
        processes.start("containerd", ["containerd", "--config", config_file])
        _wait("containerd", lambda: subprocess.run([*self.ctr(), "version"], capture_output=True,
                                                   timeout=5).returncode == 0, 30, "containerd")

    def _start_apiserver(self, *extra: str) -> None:
        pki_dir = config.PKI_DIR
        processes.start("kube-apiserver", [
            self.kube, "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{config.ETCD_CLIENT_PORT}",
            f"--bind-address={config.NODE_IP}", f"--advertise-address={config.NODE_IP}",
            f"--secure-port={config.APISERVER_PORT}",
            f"--service-cluster-ip-range={config.SERVICE_CIDR}",
            f"--tls-cert-file={pki_dir / 'apiserver.crt'}", f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
            f"--client-ca-file={pki_dir / 'ca.crt'}",
            f"--kubelet-client-certificate={pki_dir / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki_dir / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-account-key-file={pki_dir / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki_dir / 'service-account.key'}",
            f"--service-account-issuer=https://kubernetes.default.svc.{config.CLUSTER_DOMAIN}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true", "--profiling=false", "--v=1", *extra,
        ])
        _wait("kube-apiserver /readyz", lambda: self.kubectl("get", "--raw", "/readyz", check=False).strip() == "ok",
              90, "kube-apiserver")

    def _start_controllers(self) -> None:
        pki_dir, kubeconfigs = config.PKI_DIR, config.KUBECONFIG_DIR
        manager_kubeconfig = kubeconfigs / "kube-controller-manager.kubeconfig"
        processes.start("kube-controller-manager", [
            self.kube, "kube-controller-manager",
            f"--kubeconfig={manager_kubeconfig}", f"--authentication-kubeconfig={manager_kubeconfig}",
            f"--authorization-kubeconfig={manager_kubeconfig}", "--bind-address=127.0.0.1",
            f"--service-account-private-key-file={pki_dir / 'service-account.key'}",
            f"--root-ca-file={pki_dir / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki_dir / 'ca.crt'}", f"--cluster-signing-key-file={pki_dir / 'ca.key'}",
            "--use-service-account-credentials=true", "--leader-elect=false",
            "--allocate-node-cidrs=true", f"--cluster-cidr={config.POD_CIDR}", "--node-cidr-mask-size=24",
            f"--service-cluster-ip-range={config.SERVICE_CIDR}", "--controllers=*", "--v=1",
            # The default 20 QPS would spend minutes creating the benchmark's thousands of pods.
            "--kube-api-qps=200", "--kube-api-burst=400",
        ])
        scheduler_kubeconfig = kubeconfigs / "kube-scheduler.kubeconfig"
        processes.start("kube-scheduler", [
            self.kube, "kube-scheduler", f"--kubeconfig={scheduler_kubeconfig}",
            f"--authentication-kubeconfig={scheduler_kubeconfig}",
            f"--authorization-kubeconfig={scheduler_kubeconfig}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--v=1",
            "--kube-api-qps=200", "--kube-api-burst=400",
        ])

    def _start_kubelet(self) -> None:
        kubelet_config = config.STATE_DIR / "kubelet-config.yaml"
        kubelet_config.write_text(yaml.safe_dump(node.kubelet_config()))
        processes.start("kubelet", [
            self.kube, "kubelet", f"--config={kubelet_config}",
            f"--kubeconfig={config.KUBECONFIG_DIR / 'kubelet.kubeconfig'}",
            f"--root-dir={config.STATE_DIR / 'kubelet'}",
            f"--hostname-override={config.NODE_NAME}", f"--node-ip={config.NODE_IP}", "--v=1",
        ])

        def node_ready() -> bool:
            conditions = json.loads(self.kubectl("get", "node", config.NODE_NAME, "-o", "json", check=False)
                                    or "{}").get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        _wait(f"node {config.NODE_NAME} Ready", node_ready, 90, "kubelet")

    def _start_kube_proxy(self) -> None:
        processes.start("kube-proxy", [
            self.kube, "kube-proxy", f"--kubeconfig={config.KUBECONFIG_DIR / 'kube-proxy.kubeconfig'}",
            f"--hostname-override={config.NODE_NAME}", f"--cluster-cidr={config.POD_CIDR}",
            "--proxy-mode=iptables", "--conntrack-max-per-core=0", "--metrics-bind-address=127.0.0.1:10249",
            "--healthz-bind-address=127.0.0.1:10256", "--v=1",
        ])
        _wait("kube-proxy /healthz", lambda: subprocess.run(
            ["curl", "-sf", "http://127.0.0.1:10256/healthz"], capture_output=True, timeout=5).returncode == 0,
              30, "kube-proxy")

    def _start_kube_router(self) -> None:
        processes.start("kube-router", [
            self.binaries["kube-router"], f"--kubeconfig={config.KUBECONFIG_DIR / 'kube-router.kubeconfig'}",
            "--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-cni=false",
            f"--hostname-override={config.NODE_NAME}", f"--service-cluster-ip-range={config.SERVICE_CIDR}",
            f"--health-port={config.KUBE_ROUTER_HEALTH_PORT}", "--metrics-port=0", "--v=1",
        ])
        _wait("kube-router /healthz", lambda: subprocess.run(
            ["curl", "-sf", f"http://127.0.0.1:{config.KUBE_ROUTER_HEALTH_PORT}/healthz"],
            capture_output=True, timeout=5).returncode == 0, 60, "kube-router")

    def _start_coredns(self) -> None:
        self.kubectl("apply", "-f", str(config.MANIFESTS_DIR / "coredns.yaml"))
        self.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s")
        query = f"kubernetes.default.svc.{config.CLUSTER_DOMAIN}"
        _wait(f"CoreDNS answering {query}",
              lambda: dns.resolve_a(query, config.DNS_SERVICE_IP) == [config.KUBERNETES_SERVICE_IP], 30)

    def ensure_fake_nodes(self, count: int) -> None:
        """Run kwok's controller with `count` fake nodes (0: none, and no kwok)."""
        if count <= 0:
            return
        processes.start("kwok", [
            self.binaries["kwok"], f"--kubeconfig={config.KUBECONFIG_DIR / 'kwok.kubeconfig'}",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            "--manage-single-node=", "--node-lease-duration-seconds=40",
            # Fake pod IPs exist only in the API (never routed); the default /24 is too small.
            f"--cidr={config.FAKE_POD_CIDR}",
        ])
        nodes = [_fake_node(index) for index in range(count)]
        self.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(nodes))
        _wait(f"{count} fake nodes Ready", lambda: self._ready_fake_nodes() >= count, 120, "kwok")

    def _ready_fake_nodes(self) -> int:
        nodes = json.loads(self.kubectl("get", "nodes", "-l", "type=kwok", "-o", "json"))["items"]
        return sum(any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
                   for n in nodes)

    # --- down ----------------------------------------------------------------

    def down(self) -> None:
        """Stop every process and remove mounts, network namespaces, rules and state."""
        for name in (*ADDONS, "kube-router", "kube-proxy", "kubelet"):
            processes.stop(name)
        _kill_pod_processes()
        _kill_shims()
        processes.stop("containerd")
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            processes.stop(name)
        _unmount_below((config.STATE_DIR, config.RUN_DIR))
        node.cleanup_host(self.binaries)
        _remove_pod_cgroups()
        for directory in (config.STATE_DIR, config.RUN_DIR, config.KUBECTL_DISCOVERY_CACHE):
            shutil.rmtree(directory, ignore_errors=True)

    # --- status --------------------------------------------------------------

    def status(self) -> dict[str, object]:
        components = {name: processes.running_pid(name) for name in REQUIRED + ADDONS}
        return {
            "versions": {"kubernetes": config.KUBERNETES_VERSION, "etcd": config.ETCD_VERSION,
                         "coredns": config.COREDNS_VERSION, "kube-router": config.KUBE_ROUTER_VERSION,
                         "kwok": config.KWOK_VERSION, **config.FLUX_VERSIONS},
            "components": components,
            "ready": self.is_running(),
            "kubeconfig": str(config.ADMIN_KUBECONFIG) if config.ADMIN_KUBECONFIG.exists() else None,
            "leftovers": leftovers(),
        }


def _fake_node(index: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"kwok-node-{index}",
            "annotations": {FAKE_NODE_ANNOTATION: "fake"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": f"kwok-node-{index}"},
        },
        # Real pods stay on the real node; only pods that tolerate this taint land here.
        "spec": {"taints": [{"key": FAKE_NODE_ANNOTATION, "value": "fake", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
    }


def _cgroup_tree(root: Path) -> list[Path]:
    """root and every cgroup below it, deepest first. A pod's cgroups vanish while the tree is read (its
    containers end): os.walk skips a directory that went away, and the callers skip its files."""
    return [Path(directory) for directory, _, _ in os.walk(root, topdown=False)]


def _pids_in_cgroup_tree(root: Path) -> set[int]:
    pids: set[int] = set()
    for directory in _cgroup_tree(root):
        with contextlib.suppress(FileNotFoundError):
            pids.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
    return pids


def _pod_cgroup_roots() -> list[Path]:
    """This cluster's cgroup root in each hierarchy (the kubelet's cgroupRoot; its pods live below)."""
    return [controller / config.CGROUP_ROOT for controller in node.cgroup_controllers()
            if (controller / config.CGROUP_ROOT).is_dir()]


def _kill_pod_processes() -> None:
    """SIGKILL every process in this kubelet's pod cgroups (containers and sandboxes), and no other."""
    for _ in range(20):
        pids = set().union(*(_pids_in_cgroup_tree(root) for root in _pod_cgroup_roots()))
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _remove_pod_cgroups() -> None:
    for root in _pod_cgroup_roots():
        for directory in _cgroup_tree(root):  # root itself last
            with contextlib.suppress(FileNotFoundError):
                directory.rmdir()


def _shim_pids() -> list[int]:
    """containerd-shim processes started by this harness's containerd (found by its socket)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and b"containerd-shim" in cmdline[0] and str(config.CONTAINERD_SOCKET).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def _kill_shims() -> None:
    for pid in _shim_pids():
        processes.terminate(pid, 2)


def _mounts_below(roots: tuple[Path, ...]) -> list[str]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if any(mount_point == str(root) or mount_point.startswith(f"{root}/") for root in roots):
            mounts.append(mount_point)
    return mounts


def _unmount_below(roots: tuple[Path, ...]) -> None:
    for mount_point in sorted(_mounts_below(roots), key=len, reverse=True):
        if subprocess.run(["umount", mount_point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mount_point], capture_output=True)


def foreign() -> str | None:
    """Another Kubernetes daemon on this machine, or a port this cluster needs in someone else's hands."""
    ours = {pid for name in REQUIRED + ADDONS if (pid := processes.running_pid(name))} | set(_shim_pids())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in ours:
            continue
        try:
            argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        names = [Path(argv[0]).name, *argv[1:2]] if argv else []
        daemon = next((n for n in names if n in config.FOREIGN_DAEMONS), None)
        if daemon:
            return f"{daemon} (pid {proc.name}) is running and this harness did not start it"
    listening = _listening_ports()
    taken = sorted(port for port in config.PORTS if port in listening)
    return f"port(s) {', '.join(map(str, taken))} are in use" if taken else None


def _listening_ports() -> set[int]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def leftovers() -> list[str]:
    """What a stopped cluster must not leave behind; empty after a clean `down`."""
    found = [f"process {name}" for name in REQUIRED + ADDONS if processes.running_pid(name)]
    found += [f"containerd-shim pid {pid}" for pid in _shim_pids()]
    found += [f"mount {mount}" for mount in _mounts_below((config.STATE_DIR, config.RUN_DIR))]
    found += [f"cgroup {root}" for root in _pod_cgroup_roots()]
    found += node.leftovers()
    return found
