"""The cluster configuration comes from where kubectl takes it: --kubeconfig, KUBECONFIG, ~/.kube/config, then
the pod's service account. Local fake API servers tell which one a request reached; -n never overrides a
manifest's own namespace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate import cluster as cluster_module
from gate.cli import main
from gate.cluster import BUILTIN_RESOURCES, Cluster
from gate.errors import GateError
from tests.testing.api_server import RecordingApiServer

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def servers() -> Iterator[dict[str, RecordingApiServer]]:
    with RecordingApiServer() as explicit, RecordingApiServer() as env, RecordingApiServer() as home:
        yield {"explicit": explicit, "env": env, "home": home}


def kubeconfig(path: Path, server: str, namespace: str = "default") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": namespace}}]}))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cluster_module, "SERVICE_ACCOUNT", str(tmp_path / "serviceaccount"))
    return tmp_path / "home"


def in_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("pod-token")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    (account / "namespace").write_text("from-pod")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


def reached(servers: dict[str, RecordingApiServer], cluster: Cluster) -> list[str]:
    cluster.list(BUILTIN_RESOURCES["Namespace"], None)
    return [name for name, server in servers.items() if server.requests]


def test_explicit_flag_beats_kubeconfig_env_and_home(tmp_path: Path, home: Path, servers: dict[str, RecordingApiServer],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig(home / ".kube" / "config", servers["home"].url)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "env", servers["env"].url)))
    explicit = kubeconfig(tmp_path / "explicit", servers["explicit"].url, "shop")
    cluster = Cluster(str(explicit))
    assert reached(servers, cluster) == ["explicit"] and cluster.namespace == "shop"


def test_kubeconfig_env_beats_home(tmp_path: Path, home: Path, servers: dict[str, RecordingApiServer],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig(home / ".kube" / "config", servers["home"].url)
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{kubeconfig(tmp_path / 'env', servers['env'].url)}")
    assert reached(servers, Cluster()) == ["env"]


def test_home_config_beats_in_cluster_inside_a_pod(tmp_path: Path, home: Path, servers: dict[str, RecordingApiServer],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    in_a_pod(tmp_path, monkeypatch)
    kubeconfig(home / ".kube" / "config", servers["home"].url, "from-file")
    cluster = Cluster()
    assert reached(servers, cluster) == ["home"] and cluster.namespace == "from-file"


def test_in_cluster_only_without_any_kubeconfig(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_a_pod(tmp_path, monkeypatch)
    cluster = Cluster()
    assert cluster.server == "https://10.0.0.1:443" and cluster.namespace == "from-pod"
    assert cluster.source.name.startswith("the in-cluster config")


def test_the_error_names_the_source_that_was_read(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = home / ".kube" / "config"
    broken.parent.mkdir(parents=True)
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n")
    in_a_pod(tmp_path, monkeypatch)
    with pytest.raises(GateError, match=f"from {broken}: "):
        Cluster()
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(GateError, match=r"from KUBECONFIG=.*missing \(no such file, and not inside a pod\)"):
        Cluster()


@pytest.mark.parametrize("command", [["lint"], ["verify", "--kubeconfig", "unused"]])
def test_namespace_flag_contradicting_a_manifest_is_refused(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, str(EXAMPLES / "incident-scenario-2"), "-n", "other"])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "namespace from the provided object 'video-analytics' does not match the namespace 'other'" in line
    assert CliRunner().invoke(main, ["lint", str(EXAMPLES / "incident-scenario-2"), "-n", "video-analytics"]
                              ).exit_code == 1
