"""Every version, path, address and port of the test cluster, in one place.

The cluster's whole network lives on a bridge the harness creates (like kind's
docker network): the node's address is the bridge gateway, so no component
needs the host's own interfaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

KUBERNETES_VERSION = "v1.32.9"
ETCD_VERSION = "v3.5.16"  # what k8s.io/kubernetes v1.32.9 requires; linked into the kube binary
COREDNS_VERSION = "v1.11.3"  # what Kubernetes v1.32 ships as cluster DNS
KUBE_ROUTER_VERSION = "v2.1.0"
KWOK_VERSION = "v0.7.0"
# Flux v2.9's controllers (tests/cluster/flux.py): v1.10.x needs fluxcd/pkg modules the Go module proxy refuses.
FLUX_VERSIONS = {"source-controller": "v1.9.6", "kustomize-controller": "v1.9.6"}

HARNESS_DIR = Path(__file__).resolve().parent
GO_DIR = HARNESS_DIR / "go"
MANIFESTS_DIR = HARNESS_DIR / "manifests"

CACHE_DIR = Path(os.environ.get("DEPLOY_GATE_CACHE", Path.home() / ".cache" / "deploy-gate"))
BIN_CACHE = CACHE_DIR / "bin"
IMAGE_CACHE = CACHE_DIR / "images"
LOG_DIR = CACHE_DIR / "cluster-logs"  # kept after `down` for post-mortems

STATE_DIR = Path("/var/lib/deploy-gate-cluster")  # etcd, containerd, kubelet, pki
RUN_DIR = Path("/run/deploy-gate-cluster")  # sockets, pid files, network namespaces
PKI_DIR = STATE_DIR / "pki"
KUBECONFIG_DIR = STATE_DIR / "kubeconfig"
ADMIN_KUBECONFIG = KUBECONFIG_DIR / "admin.kubeconfig"
PID_DIR = RUN_DIR / "pids"
CONTAINERD_SOCKET = RUN_DIR / "containerd" / "containerd.sock"
NETNS_DIR = Path("/var/run/netns")  # where containerd 1.6's CRI puts pod network namespaces
# containerd 1.6 shims keep sockets and fifos under /run/containerd whatever its state dir.
SHIM_DIR = Path("/run/containerd")
HOST_BEFORE_UP = CACHE_DIR / "host-before-up.json"  # netns and dirs that existed before `up`: not ours to remove
CNI_CONF_DIR = STATE_DIR / "cni" / "net.d"
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins

NODE_NAME = "deploy-gate-node"
BRIDGE = "dgbr0"
# The kubelet's cgroup root: its pods live under <controller>/deploy-gate/kubepods, apart from any other
# kubelet's /kubepods on the machine, so `down` kills and removes only what this cluster ran.
CGROUP_ROOT = "deploy-gate"
# Present while the cluster runs without its NetworkPolicy enforcer (`up --no-netpol`).
NO_NETPOL_MARKER = RUN_DIR / "no-netpol"
# Other Kubernetes daemons this harness refuses to run beside (their pods, rules and ports would collide).
FOREIGN_DAEMONS = ("kubelet", "kube-apiserver", "containerd", "k3s", "k0s")
POD_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"  # allocated to the node by the controller-manager
NODE_IP = "10.244.0.1"  # the bridge gateway
SERVICE_CIDR = "10.96.0.0/16"
FAKE_POD_CIDR = "10.245.0.1/16"  # kwok's fake pods: addresses in the API only, nothing routes to them
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"

APISERVER_PORT = 6443
# kubectl caches API discovery per server address; the next cluster at this address is another cluster.
KUBECTL_DISCOVERY_CACHE = Path.home() / ".kube" / "cache" / "discovery" / f"{NODE_IP}_{APISERVER_PORT}"
ETCD_CLIENT_PORT = 23790
ETCD_PEER_PORT = 23800
KUBE_ROUTER_HEALTH_PORT = 20244
# Every port the cluster's components listen on: taken by someone else, `up` refuses to start.
PORTS = (APISERVER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, KUBE_ROUTER_HEALTH_PORT,
         10250, 10249, 10256, 10257, 10259)  # kubelet, kube-proxy metrics and health, controller manager, scheduler

IMAGE_REGISTRY = "deploy-gate.local"
# Debian's busybox-static (1.35) + agnhost, under the public reference the examples and the probe default
# name, so they run unchanged here (never pulled: IfNotPresent finds it) and on a user's cluster (pulled).
BUSYBOX_IMAGE = "docker.io/library/busybox:1.36"
DEPLOY_GATE_IMAGE = "registry.example.com/deploy-gate:0.1.0"  # the examples' name: examples/argocd/Dockerfile
PAUSE_IMAGE = f"{IMAGE_REGISTRY}/pause:3.10"
COREDNS_IMAGE = f"{IMAGE_REGISTRY}/coredns:{COREDNS_VERSION}"


@dataclass(frozen=True)
class GoModule:
    """A Go module under go/ (or under root) and the binaries built from it."""

    directory: str
    packages: dict[str, str]  # binary name -> package path ("." for the module's main)
    aliases: dict[str, str] = field(default_factory=dict)  # symlink -> binary (multi-call names)
    root: Path = GO_DIR  # another tree's module (bench/kstatus-wait) builds into the same cache


GO_MODULES = (
    GoModule("kube", {"kube": ".", "agnhost": "k8s.io/kubernetes/test/images/agnhost"}, {"kubectl": "kube"}),
    GoModule("coredns", {"coredns": "."}),
    GoModule("kube-router", {"kube-router": "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"}),
    GoModule("kwok", {"kwok": "sigs.k8s.io/kwok/cmd/kwok"}),
    # What runs the examples for users, run here by the e2e tests: a GitHub Actions runner, Prometheus' rule
    # checker, and helm (issue 17's benchmark peer).
    GoModule("act", {"act": "github.com/nektos/act"}),
    GoModule("promtool", {"promtool": "github.com/prometheus/prometheus/cmd/promtool"}),
    GoModule("helm", {"helm": "helm.sh/helm/v3/cmd/helm"}),
    # Helm 4, whose releases `verify --helm-release` must read as it reads Helm 3's (tests/e2e/test_helm.py).
    GoModule("helm4", {"helm4": "helm.sh/helm/v4/cmd/helm"}),
    # Flux's controllers, reconciling a GitRepository and two Kustomizations (tests/e2e/test_flux.py).
    GoModule("source-controller", {"source-controller": "github.com/fluxcd/source-controller"}),
    GoModule("kustomize-controller", {"kustomize-controller": "github.com/fluxcd/kustomize-controller"}),
)
