"""The kubeconfig, read as kubectl reads it: typed as client-go types it, credentials got as kubectl gets them.

The Python client's loader is lenient where kubectl is strict, and each leniency is a hole:
it takes `insecure-skip-tls-verify: "false"` as true (a non-empty string) and sends the token
to any server; it runs a `gcp` auth-provider's `cmd-path` (kubectl removed that provider and
runs nothing); it logs a failing exec plugin and goes on unauthenticated; it writes refreshed
tokens back into the file. So the file is checked first, against the fields of client-go's
clientcmd/api/v1 types (a wrong type is exit 2 naming the file and field, as kubectl refuses
the file), and then loaded by a loader that makes those cases errors.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from gate.errors import ClusterError, ConfigError
from gate.escape import conceal
from gate.objects import FieldPath, dotted
from gate.schema import DNS_LABEL, Bool, Invalid, ListOf, Map, Spec, Str, TextOf

EXEC_SECONDS = 60  # an exec plugin that has not answered by then will not (kubectl waits forever; a gate must not)
REMOVED_PROVIDERS = {"gcp": "gke-gcloud-auth-plugin", "azure": "kubelogin"}  # removed in client-go 1.26


@dataclass(frozen=True)
class Secret(Spec):
    """A credential string: a wrong type is named by its type, never by its value."""

    what: str = "a string"

    def check(self, value: Any, path: FieldPath, text_of: TextOf) -> None:
        if not isinstance(value, str):
            raise Invalid(path, f"expected {self.what}, got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _named(entry: str, spec: Map) -> ListOf:
    return ListOf(f"a list of named {entry}s", Map(f"a named {entry}", {"name": Str(), entry: spec}))


_STRINGS = ListOf("a list of strings", Str())
# client-go refuses `"false"` (cannot unmarshal string into bool), and so does this: the Python client took it as true
STRICT_BOOL = Bool("a boolean (true or false, unquoted)")
CLUSTER = Map("a cluster", {
    "server": Str(), "tls-server-name": Str(), "insecure-skip-tls-verify": STRICT_BOOL, "certificate-authority": Str(),
    "certificate-authority-data": Str(), "proxy-url": Str(), "disable-compression": STRICT_BOOL})
EXEC = Map("an exec plugin", {
    "command": Str(), "args": _STRINGS, "apiVersion": Str(), "installHint": Str(), "provideClusterInfo": STRICT_BOOL,
    "interactiveMode": Str(), "env": ListOf("a list of name/value pairs", Map("an environment variable", {
        "name": Str(), "value": Secret()}))})
USER = Map("a user", {
    "client-certificate": Str(), "client-certificate-data": Str(), "client-key": Str(),
    "client-key-data": Secret(), "token": Secret(), "tokenFile": Str(), "as": Str(), "as-uid": Str(),
    "as-groups": _STRINGS, "username": Str(), "password": Secret(), "exec": EXEC,
    "auth-provider": Map("an auth provider", {"name": Str(), "config": Map(keys=Str(), values=Secret())})})
CONTEXT = Map("a context", {"cluster": Str(), "user": Str(), "namespace": Str(
    "a namespace name (a DNS label: a-z 0-9 -, at most 63)", DNS_LABEL, 63)})
KUBECONFIG = Map("a kubeconfig", {
    "apiVersion": Str(), "kind": Str(), "current-context": Str(), "preferences": Map(),
    "clusters": _named("cluster", CLUSTER), "users": _named("user", USER), "contexts": _named("context", CONTEXT)})


def check_file(path: str) -> None:
    """Refuse a kubeconfig file kubectl would refuse, or that would send credentials where kubectl would not."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"cannot load the cluster configuration from {path}: {reason}") from error
    if data is None:
        return
    try:
        KUBECONFIG.check(data, (), lambda _: None)
    except Invalid as error:
        where = f"cannot load the cluster configuration from {path}: {dotted(error.path)}"
        raise ConfigError(f"{where}: {error.message}") from error


class _Loader(KubeConfigLoader):
    """The client's loader, getting credentials as kubectl does: trimmed, bounded, and a failure is the answer.

    It never writes the file back (no config_persister): a gate reads the user's kubeconfig, nothing more.
    """

    def _load_auth_provider_token(self) -> bool | None:
        provider = self._user.safe_get("auth-provider")
        name = provider.get("name") if isinstance(provider, dict) else None
        if name in REMOVED_PROVIDERS:
            raise ConfigError(f"the kubeconfig's user uses the {name} auth provider, which kubectl has removed "
                              f"(client-go 1.26) and which runs nothing: use the {REMOVED_PROVIDERS[name]} exec "
                              "plugin instead")
        return super()._load_auth_provider_token()

    def _load_user_token(self) -> bool | None:
        """token or tokenFile, trimmed as client-go trims a token file (`echo $T > f` ends it with a newline)."""
        found = super()._load_user_token()
        if found:
            token = self.token.removeprefix("Bearer ").strip()
            conceal(token)
            self.token = f"Bearer {token}"
        return found

    def _load_from_exec_plugin(self) -> bool | None:
        exec_config = self._user.safe_get("exec")
        if exec_config is None:
            return None
        status = exec_credential(exec_config, self._get_base_path(self._cluster.path))
        if "token" in status:
            self.token = f"Bearer {status['token']}"
        else:
            self.cert_file, self.key_file = (_private_file(status[key]) for key in
                                             ("clientCertificateData", "clientKeyData"))
        return True

    def _load_user_pass_token(self) -> bool | None:
        found = super()._load_user_pass_token()
        if found:
            conceal(self._user["password"])
            conceal(self.token.partition(" ")[2])  # base64 of user:password
        return found


def _private_file(data: str) -> str:
    """A file only this user reads, holding one credential (the client takes certificates by file); gone at exit."""
    descriptor, name = tempfile.mkstemp(prefix="deploy-gate-", suffix=".pem")
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(data)
    atexit.register(lambda: os.path.exists(name) and os.unlink(name))
    return name


def exec_credential(config: dict[str, Any], cwd: str) -> dict[str, Any]:
    """Run a client-go exec credential plugin once; its ExecCredential status, or ClusterError "getting credentials".

    As client-go's exec authenticator: KUBERNETES_EXEC_INFO in the environment, stdin and stderr
    the terminal's only when interactive, and a status that must carry a token or a certificate
    and key. Unlike it, a plugin gets EXEC_SECONDS to answer: a gate must end by its deadline.
    """
    config = getattr(config, "value", config)  # the loader's ConfigNode, or a plain mapping
    command, api_version = config.get("command"), config.get("apiVersion")
    if not command or not api_version:
        raise ConfigError("the kubeconfig's exec plugin needs command and apiVersion")
    env = {**os.environ, **{item["name"]: item["value"] for item in config.get("env") or []}}
    interactive = sys.stdin.isatty() and config.get("interactiveMode") != "Never"
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential",
                                              "spec": {"interactive": interactive}})
    where = f"exec plugin {command}"
    try:
        process = subprocess.run([command, *(config.get("args") or [])], env=env, cwd=cwd or None, text=True,
                                 stdin=None if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=None if interactive else subprocess.PIPE, timeout=EXEC_SECONDS,
                                 errors="replace")
    except FileNotFoundError as error:
        hint = f" ({config['installHint']})" if config.get("installHint") else ""
        raise ClusterError(f"getting credentials: {where}: executable not found{hint}") from error
    except subprocess.TimeoutExpired as error:
        raise ClusterError(f"getting credentials: {where} did not answer within {EXEC_SECONDS} s") from error
    except (OSError, subprocess.SubprocessError) as error:
        raise ClusterError(f"getting credentials: {where}: {type(error).__name__}: {error.strerror or ''}"
                           if isinstance(error, OSError) else f"getting credentials: {where}: {error}") from error
    if process.returncode != 0:
        last = (process.stderr or "").strip().splitlines()[-1:] or [""]
        raise ClusterError(f"getting credentials: {where} exited {process.returncode}" +
                           (f": {last[0][:300]}" if last[0] else ""))
    return _credential(process.stdout, where, api_version)


def _credential(output: str, where: str, api_version: str) -> dict[str, Any]:
    """The token, or the certificate and key, of a plugin's ExecCredential output; each a credential concealed."""
    try:
        response = json.loads(output)
    except ValueError as error:
        raise ClusterError(f"getting credentials: {where} printed no ExecCredential JSON ({error})") from error
    status = response.get("status") if isinstance(response, dict) else None
    if not isinstance(response, dict) or response.get("kind") != "ExecCredential" or not isinstance(status, dict):
        raise ClusterError(f"getting credentials: {where} printed no ExecCredential with a status")
    if response.get("apiVersion") != api_version:
        raise ClusterError(f"getting credentials: {where} answered apiVersion {response.get('apiVersion')!r}, "
                           f"not {api_version!r}")
    token, certificate, key = (status.get(k) for k in ("token", "clientCertificateData", "clientKeyData"))
    if isinstance(token, str) and token:
        conceal(token)
        return {"token": token}
    if isinstance(certificate, str) and isinstance(key, str) and certificate and key:
        conceal(key)
        return {"clientCertificateData": certificate, "clientKeyData": key}
    raise ClusterError(f"getting credentials: {where} gave neither a token nor a client certificate and key")


def load(files: str, context: str | None, configuration: Any) -> str:
    """Check every kubeconfig file, load the chosen context into `configuration`; return its namespace."""
    for path in files.split(os.pathsep):
        if path and os.path.exists(os.path.expanduser(path)):
            check_file(os.path.expanduser(path))
    merged = KubeConfigMerger(files).config
    if merged is None:  # Cluster names the source: "cannot load … from --kubeconfig F: no such file"
        raise FileNotFoundError("no such file")
    loader = _Loader(config_dict=merged, active_context=context, config_base_path=None)
    key_data = loader._user.safe_get("client-key-data") if loader._user else None
    if isinstance(key_data, str):
        conceal(key_data)
    loader.load_and_set(configuration)
    return (loader.current_context.get("context") or {}).get("namespace") or "default"
