"""Printed fixes are pasted into a shell: whatever a manifest says, they run exactly the intended argv.

Each command is run by `bash -c` with a stub `kubectl` first on PATH that records its argv
(and stdin); a hostile value that broke out of its quotes would run `touch` on a marker file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gate.config import GateConfig
from gate.endpoints import kubectl_patch
from gate.errors import ManifestError
from gate.escape import shell_command
from gate.inventory import Inventory
from gate.labels import Selector, no_command_for, valid_label
from gate.lint import lint
from gate.manifests import Manifest, load, parse_documents
from gate.netpol import EGRESS, INGRESS, Connection, PodSide, Policy, evaluate
from gate.objects import ObjectRef
from gate.verify.connectivity import reproduce_command

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _hostile(marker: Path) -> list[str]:
    """Values that end a quote, substitute a command, chain one or start a new line, each touching marker."""
    touch = f"touch {marker}"
    return [f"x'; {touch}; echo '", f'x"; {touch}; echo "', f"$({touch})", f"`{touch}`", f"x\n{touch}",
            f"x; {touch}", f"x && {touch}", f"x' && {touch} #", "x\\'; " + touch, f"x'\\''; {touch}; '"]


@pytest.fixture
def stub(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """PATH with a kubectl that writes its argv (NUL-separated) and its stdin to files; and the marker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    argv_file, stdin_file = tmp_path / "argv", tmp_path / "stdin"
    script = bin_dir / "kubectl"
    script.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {argv_file}\ncat > {stdin_file}\n")
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return env, argv_file, tmp_path / "pwned"


def _run(command: str, env: dict[str, str], argv_file: Path, stdin: str = "") -> list[str]:
    subprocess.run(["bash", "-c", command], env=env, input=stdin, text=True, check=True, timeout=10)
    return argv_file.read_bytes().decode().split("\0")[:-1]


def test_shell_command_is_read_back_as_exactly_its_words(tmp_path: Path, stub: tuple[dict[str, str], Path, Path]
                                                         ) -> None:
    env, argv_file, marker = stub
    for value in _hostile(marker):
        words = ["kubectl", "patch", value, f"-p={value}", "--", value, ""]
        assert _run(shell_command(*words), env, argv_file) == words[1:]
    assert not marker.exists()


def test_a_patch_with_hostile_names_and_values_runs_only_kubectl(stub: tuple[dict[str, str], Path, Path]) -> None:
    env, argv_file, marker = stub
    for value in _hostile(marker):
        operations = [{"op": "add", "path": "/spec/template/metadata/labels/tier", "value": value}]
        command = kubectl_patch(ObjectRef("Deployment", value, value), operations)
        argv = _run(command, env, argv_file)
        assert argv == ["patch", "deployment", value, "-n", value, "--type=json",
                        "-p=" + json.dumps(operations, separators=(",", ":"))]
        assert json.loads(argv[-1].removeprefix("-p=")) == operations
    assert not marker.exists()


def test_a_new_policy_piped_to_kubectl_apply_arrives_whole(stub: tuple[dict[str, str], Path, Path]) -> None:
    """The namespace-wide baseline forces a new policy (`printf … | kubectl apply -f -`), JSON intact."""
    env, argv_file, marker = stub
    stdin_file = argv_file.with_name("stdin")
    for namespace in _hostile(marker):
        deny_all = Policy("deny-all", namespace, Selector.from_label_selector({}), frozenset({INGRESS}), (), None)
        web, api = PodSide(namespace, {"app": "web"}), PodSide(namespace, {"app": "api"})
        verdict = evaluate([deny_all], Connection(web, api, 8080))
        [fix] = verdict.fixes()
        assert _run(fix, env, argv_file) == ["apply", "-f", "-"]
        policy = json.loads(stdin_file.read_text())
        assert policy["metadata"]["namespace"] == namespace
        assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "web"}}}]
    assert not marker.exists()


def test_the_reproduce_line_runs_nc_in_the_caller_with_the_exact_arguments(
        stub: tuple[dict[str, str], Path, Path]) -> None:
    env, argv_file, marker = stub
    for value in _hostile(marker):
        argv = _run(reproduce_command(value, value, value, 8080), env, argv_file)
        assert argv[:6] == ["-n", value, "exec", value, "--", "sh"]
        assert argv[6] == "-c"
        # what `sh -c` would be given: nc with the host as one word, stdin from /dev/null
        assert subprocess.run(["bash", "-c", f"set -- {argv[7].removesuffix(' </dev/null')}; printf '%s\\0' \"$@\""],
                              capture_output=True, text=True, check=True).stdout.split("\0")[:-1] == \
            ["nc", "-w", "3", value, "8080"]
    assert not marker.exists()


@pytest.mark.parametrize(("key", "value", "valid"), [
    ("app", "web", True), ("app.kubernetes.io/name", "a.b_c-d", True), ("tier", "", True),
    ("app", "back end", False), ("app", "back~end", False), ("app", "x'; touch f; echo '", False),
    ("app", "-web", False), ("app", "a" * 64, False), ("bad key!", "x", False), ("a/b/c", "x", False),
    ("/x", "y", False), ("Example.com/x", "y", False), ("example.com/" + "n" * 64, "y", False),
])
def test_label_validity_is_the_api_servers(key: str, value: str, valid: bool) -> None:
    assert valid_label(key, value) is valid
    assert (no_command_for({key: value}) is None) is valid


def test_a_selector_value_the_api_server_rejects_gets_no_command(tmp_path: Path) -> None:
    """The incident's shape, with a selector value that would end the patch's quotes: no command, one reason."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text("""\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api, tier: "x'; touch /tmp/pwned; echo '"}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: a, image: x, ports: [{containerPort: 8080}]}]}
""")
    with pytest.raises(ManifestError, match=r"spec\.selector\.tier: expected a label value"):
        load([str(manifest)])  # a manifest never gets that far; a fix built from such a label still gives no command
    unchecked = [Manifest(data, str(manifest), line) for data, line, _ in parse_documents(manifest.read_text(), "m")]
    [failed] = [f for f in lint(Inventory.from_manifests(unchecked), GateConfig()) if f.fix]
    assert failed.fix == ("correct tier=x'; touch /tmp/pwned; echo ' where it is written: the API server rejects it "
                          "as a label, so no command is given",)


def test_a_caller_label_the_api_server_rejects_gets_no_policy_command() -> None:
    policy = Policy("api", "shop", Selector.from_map({"app": "api"}), frozenset({INGRESS, EGRESS}), (), ())
    web, api = PodSide("shop", {"app": "web$(id)"}), PodSide("shop", {"app": "api"})
    assert evaluate([policy], Connection(web, api, 8080)).fixes() == [
        "correct app=web$(id) where it is written: the API server rejects it as a label, so no command is given"]
