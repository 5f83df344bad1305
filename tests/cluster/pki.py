"""Certificates and kubeconfigs for the test cluster, made with the openssl CLI.

Each component gets its own client certificate with the identity upstream
components use (system:kube-controller-manager, system:node:<name>, …), so
the Node and RBAC authorizers see a real cluster's identities.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.cluster import config


@dataclass(frozen=True)
class ClientIdentity:
    name: str  # file stem
    common_name: str
    organization: str | None = None


CLIENTS = (
    ClientIdentity("admin", "kubernetes-admin", "system:masters"),
    ClientIdentity("kube-controller-manager", "system:kube-controller-manager"),
    ClientIdentity("kube-scheduler", "system:kube-scheduler"),
    ClientIdentity("kubelet", f"system:node:{config.NODE_NAME}", "system:nodes"),
    ClientIdentity("kube-proxy", "system:kube-proxy"),
    ClientIdentity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
    # Cluster add-ons the harness runs as host processes; their RBAC is not under test.
    ClientIdentity("kube-router", "kube-router", "system:masters"),
    ClientIdentity("kwok", "kwok-controller", "system:masters"),
)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path))


CLIENT_EXTENSIONS = "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"


def _signed_cert(stem: str, subject: str, extensions: str) -> None:
    key, csr, cert = (config.PKI_DIR / f"{stem}.{ext}" for ext in ("key", "csr", "crt"))
    ext_file = config.PKI_DIR / f"{stem}.ext"
    ext_file.write_text(extensions)
    _key(key)
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(config.PKI_DIR / "ca.crt"),
             "-CAkey", str(config.PKI_DIR / "ca.key"), "-CAcreateserial", "-days", "365",
             "-extfile", str(ext_file), "-out", str(cert))
    csr.unlink()
    ext_file.unlink()


def create_pki() -> None:
    """CA, apiserver serving certificate, one client certificate per component, SA keys."""
    config.PKI_DIR.mkdir(parents=True, exist_ok=True)
    ca_key = config.PKI_DIR / "ca.key"
    _key(ca_key)
    _openssl("req", "-x509", "-new", "-key", str(ca_key), "-subj", "/CN=deploy-gate-test-ca", "-days", "365",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-out", str(config.PKI_DIR / "ca.crt"))
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
           f"kubernetes.default.svc.{config.CLUSTER_DOMAIN}", "localhost"]
    ips = ["127.0.0.1", config.KUBERNETES_SERVICE_IP, config.NODE_IP]
    alt_names = ",".join([f"DNS:{name}" for name in dns] + [f"IP:{ip}" for ip in ips])
    _signed_cert("apiserver", "/CN=kube-apiserver",
                 f"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                 f"subjectAltName={alt_names}\n")
    for client in CLIENTS:
        subject = f"/CN={client.common_name}" + (f"/O={client.organization}" if client.organization else "")
        _signed_cert(client.name, subject, CLIENT_EXTENSIONS)
    _key(config.PKI_DIR / "service-account.key")
    _openssl("pkey", "-in", str(config.PKI_DIR / "service-account.key"), "-pubout",
             "-out", str(config.PKI_DIR / "service-account.pub"))
    for client in CLIENTS:
        write_kubeconfig(client.name)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(client: str) -> Path:
    """A self-contained kubeconfig (certificates embedded) for one client identity."""
    config.KUBECONFIG_DIR.mkdir(parents=True, exist_ok=True)
    path = config.KUBECONFIG_DIR / f"{client}.kubeconfig"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "deploy-gate-test", "cluster": {
            "server": f"https://{config.NODE_IP}:{config.APISERVER_PORT}",
            "certificate-authority-data": _b64(config.PKI_DIR / "ca.crt")}}],
        "users": [{"name": client, "user": {
            "client-certificate-data": _b64(config.PKI_DIR / f"{client}.crt"),
            "client-key-data": _b64(config.PKI_DIR / f"{client}.key")}}],
        "contexts": [{"name": "deploy-gate-test", "context": {"cluster": "deploy-gate-test", "user": client}}],
        "current-context": "deploy-gate-test",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


def client_kubeconfig(user: str) -> Path:
    """A kubeconfig for a new client identity `user` (CN=user, no groups): what a test or the benchmark grants
    rights to with RBAC. The harness's seam for code outside it (bench/run.py)."""
    _signed_cert(user, f"/CN={user}", CLIENT_EXTENSIONS)
    return write_kubeconfig(user)
