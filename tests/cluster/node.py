"""The node's host side: network bridge, sysctls, runtime configs, and cleanup.

Everything here is created by `up` and removed by `down`; `leftovers()` is the
list that must be empty after `down`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cluster import config

# Chain prefixes of kube-proxy (KUBE-), kube-router (KUBE-ROUTER-, KUBE-NWPLCY-, …)
# and the CNI bridge/portmap plugins (CNI-).
RULE_MARKERS = ("KUBE-", "CNI-")
SYSCTLS = {
    "net.ipv4.ip_forward": "1",  # pod -> ClusterIP -> pod is routed through the bridge gateway
    "net.bridge.bridge-nf-call-iptables": "1",  # bridged pod traffic must see kube-proxy's and kube-router's rules
    "net.bridge.bridge-nf-call-ip6tables": "1",
}


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def prepare_host() -> None:
    """Sysctls and the bridge whose gateway address is the node's (and the API server's) address."""
    for key, value in SYSCTLS.items():
        _run("sysctl", "-q", "-w", f"{key}={value}")
    if _run("ip", "link", "show", config.BRIDGE, check=False).returncode != 0:
        _run("ip", "link", "add", config.BRIDGE, "type", "bridge")
    prefix = config.NODE_POD_CIDR.split("/")[1]
    _run("ip", "addr", "replace", f"{config.NODE_IP}/{prefix}", "dev", config.BRIDGE)
    _run("ip", "link", "set", config.BRIDGE, "up")
    for directory in (config.STATE_DIR, config.RUN_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    if not config.HOST_BEFORE_UP.exists():  # a second `up` after a crash keeps the first record
        # What the machine had before: rules, ipsets and namespaces named like ours that someone else made.
        config.HOST_BEFORE_UP.parent.mkdir(parents=True, exist_ok=True)
        config.HOST_BEFORE_UP.write_text(json.dumps({
            "netns": _netns_names(), "shim_dir_existed": config.SHIM_DIR.exists(),
            "rules": _rule_lines(baseline=False), "ipsets": _ipsets(baseline=False)}))
    for controller in cgroup_controllers():
        root = controller / config.CGROUP_ROOT
        root.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):  # a new cpuset cgroup starts empty: no task could join it
            if (controller / name).exists() and not (root / name).read_text().strip():
                (root / name).write_text((controller / name).read_text())


def cgroup_controllers() -> list[Path]:
    """The mounted cgroup hierarchies (v1 controllers, and the unified one where mounted)."""
    base = Path("/sys/fs/cgroup")
    return [p for p in base.iterdir() if p.is_dir() and (p / "cgroup.procs").exists()] if base.is_dir() else []


def _before_up() -> dict[str, Any]:
    try:
        return json.loads(config.HOST_BEFORE_UP.read_text())
    except (FileNotFoundError, ValueError):
        return {"netns": [], "shim_dir_existed": False, "rules": None, "ipsets": None}


def _netns_names() -> list[str]:
    return sorted(p.name for p in config.NETNS_DIR.iterdir()) if config.NETNS_DIR.is_dir() else []


def _cluster_netns() -> list[str]:
    """Network namespaces the cluster's containerd made: cni-* ones that did not exist before `up`."""
    before = set(_before_up()["netns"])
    return [name for name in _netns_names() if name.startswith("cni-") and name not in before]


def cni_config() -> dict[str, object]:
    """Bridge + host-local on the node's podCIDR; no masquerade: nothing leaves the machine."""
    return {
        "cniVersion": "1.0.0",
        "name": "deploy-gate",
        "plugins": [
            {
                "type": "bridge",
                "bridge": config.BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,  # a pod reaching its own Service lands back on itself
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": config.NODE_POD_CIDR, "gateway": config.NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(config.STATE_DIR / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def containerd_config() -> str:
    """containerd 1.6 (Debian's) with its own root, state and socket.

    Network namespaces still go to /var/run/netns (1.6 has no setting for it), so
    `prepare_host` notes which exist before `up` and `cleanup_host` removes only newer ones.
    """
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{config.STATE_DIR / 'containerd'}"
state = "{config.RUN_DIR / 'containerd'}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{config.CONTAINERD_SOCKET}"

[ttrpc]
  address = "{config.CONTAINERD_SOCKET}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{config.STATE_DIR / 'opt'}"

[{cri}]
  sandbox_image = "{config.PAUSE_IMAGE}"
  # This VM withholds CAP_SYS_RESOURCE, so no process may lower its OOM score:
  # clamp the kubelet's negative scores (-998 for sandboxes) to containerd's own.
  restrict_oom_score_adj = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{config.RUN_DIR / 'runc'}"

[{cri}.cni]
  bin_dir = "{config.CNI_BIN_DIR}"
  conf_dir = "{config.CNI_CONF_DIR}"
"""


def kubelet_config() -> dict[str, object]:
    """KubeletConfiguration for this VM: cgroup v1 with cgroupfs, no swap checks, tiny disk thresholds."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(config.PKI_DIR / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{config.CGROUP_ROOT}",  # see config.CGROUP_ROOT; `up` creates it
        "failCgroupV1": False,  # this VM has cgroup v1 only
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{config.CONTAINERD_SOCKET}",
        "clusterDNS": [config.DNS_SERVICE_IP],
        "clusterDomain": config.CLUSTER_DOMAIN,
        "resolvConf": "",  # pods get only cluster DNS; the host's resolvers are not theirs to use
        "podLogsDir": str(config.STATE_DIR / "pod-logs"),
        # Tests must not be evicted by a nearly full disk on a shared machine.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "maxPods": 250,
    }


def _saved_rules(save: str) -> dict[str, list[str]]:
    """iptables-save output by table: table name -> its chain and rule lines."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in _run(save, check=False).stdout.splitlines():
        if line.startswith("*"):
            current = line[1:]
            tables[current] = []
        elif current and (line.startswith(":") or line.startswith("-A")):
            tables[current].append(line)
    return tables


def _named_like_ours(line: str) -> bool:
    return any(marker in line for marker in RULE_MARKERS) or "kube-router" in line


def _chain_line(line: str) -> str:
    """A chain declaration without its packet counters, which change while it runs."""
    return line.split(maxsplit=1)[0] if line.startswith(":") else line


def _rule_lines(baseline: bool = True) -> list[str]:
    """Chain and rule lines named like the cluster's; with baseline, only those that did not exist before `up`.

    kube-proxy's, kube-router's and CNI's chain names are fixed (KUBE-*, CNI-*), so what is ours is told
    by the record `up` made: a machine with another cluster's rules keeps them. No record: nothing is ours.
    """
    found = [_chain_line(line) for save in ("iptables-save", "ip6tables-save")
             for lines in _saved_rules(save).values() for line in lines if _named_like_ours(line)]
    if not baseline:
        return found
    before = _before_up()["rules"]
    return [] if before is None else [line for line in found if line not in set(before)]


POLICY_MARKERS = ("KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-", "kube-router netpol")


def remove_policy_rules() -> None:
    """Remove what kube-router's NetworkPolicy firewall programmed (its own --cleanup-config panics in
    v2.1.0's proxy cleanup before it gets there): the chains, the jumps to them, then its ipsets."""
    _sweep_rules(lambda line: any(marker in line for marker in POLICY_MARKERS))
    for ipset in _ipsets():
        if ipset.startswith(("KUBE-SRC-", "KUBE-DST-", "kube-router-")):
            _run("ipset", "destroy", ipset, check=False)


def _sweep_rules(only: Callable[[str], bool] = lambda _: True) -> None:
    """Delete every rule and chain the cluster's components made (kubelet, kube-proxy, kube-router).

    Their own cleanups leave the kubelet's chains and canaries behind, so sweep what `_rule_lines` calls
    ours: first the jumps from other chains, then flush and delete the chains themselves.
    """
    ours = {line for line in _rule_lines() if only(line)}
    for save, restore in (("iptables-save", "iptables-restore"), ("ip6tables-save", "ip6tables-restore")):
        script = []
        for table, lines in _saved_rules(save).items():
            chains = [line[1:].split()[0] for line in lines if line.startswith(":") and _chain_line(line) in ours]
            deletes = [f"-D {line[3:]}" for line in lines
                       if line.startswith("-A") and line in ours and line.split()[1] not in chains]
            if chains or deletes:
                script += [f"*{table}", *deletes, *(f"-F {c}" for c in chains), *(f"-X {c}" for c in chains), "COMMIT"]
        if script:
            subprocess.run([restore, "--noflush"], input="\n".join(script) + "\n", text=True,
                           capture_output=True, check=False)


def _ipsets(baseline: bool = True) -> list[str]:
    result = _run("ipset", "list", "-n", check=False)
    found = [name for name in result.stdout.split() if name.startswith(("KUBE-", "kube-router-", "inet6:KUBE-"))]
    if not baseline:
        return found
    before = _before_up()["ipsets"]
    return [] if before is None else [name for name in found if name not in set(before)]


def cleanup_host(binaries: dict[str, Path]) -> None:
    """Remove the rules, ipsets and bridge the node's components made, and nothing that was there before."""
    if not _before_up()["rules"] and _before_up()["rules"] is not None:
        # The components' own cleanups remove their rules by name, whoever made them: only when the
        # machine had none named like theirs before `up`.
        _run(str(binaries["kube"]), "kube-proxy", "--cleanup", check=False)
        _run(str(binaries["kube-router"]), "--cleanup-config", check=False)
    _sweep_rules()
    for ipset in _ipsets():
        _run("ipset", "destroy", ipset, check=False)
    for name in _cluster_netns():
        path = config.NETNS_DIR / name
        if _run("umount", str(path), check=False).returncode != 0:
            _run("umount", "-l", str(path), check=False)
        path.unlink(missing_ok=True)
    if not _before_up()["shim_dir_existed"]:
        shutil.rmtree(config.SHIM_DIR, ignore_errors=True)
    config.HOST_BEFORE_UP.unlink(missing_ok=True)
    _run("ip", "link", "del", config.BRIDGE, check=False)


def leftovers() -> list[str]:
    found = [f"rule {line}" for line in _rule_lines()]
    found += [f"ipset {name}" for name in _ipsets()]
    if _run("ip", "link", "show", config.BRIDGE, check=False).returncode == 0:
        found.append(f"bridge {config.BRIDGE}")
    found += [f"network namespace {config.NETNS_DIR / name}" for name in _cluster_netns()]
    if config.SHIM_DIR.exists() and not _before_up()["shim_dir_existed"]:
        found.append(f"directory {config.SHIM_DIR}")
    return found
