"""Loading manifests: documents, List kinds, file:line of fields, and one-line errors."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.errors import ManifestError
from gate.location import Location
from gate.manifests import load, parse_apply_output, parse_documents
from tests.testing.manifests import DEPLOYMENT


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_multi_document_file_keeps_each_objects_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "all.yaml", "---\n" + DEPLOYMENT + "---\n# only a comment\n---\n" + DEPLOYMENT.replace(
        "name: web", "name: api"))
    manifests = load([str(path)]).manifests
    assert [m.ref().name for m in manifests] == ["web", "api"]
    assert manifests[0].line == 2
    assert manifests[0].location("spec", "template", "metadata", "labels") == Location(str(path), 11)
    assert manifests[1].line_of("spec", "template", "metadata", "labels") == 27


def test_list_kind_expands_with_item_lines(tmp_path: Path) -> None:
    items = "\n".join("  " + line if line else line for line in ("- " + DEPLOYMENT.replace("\n", "\n  ")).splitlines())
    path = write(tmp_path, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n" + items + "\n")
    [manifest] = load([str(path)]).manifests
    assert manifest.kind == "Deployment"
    assert manifest.line == 4
    assert manifest.line_of("spec", "template", "metadata", "labels") == 13


ODD_YAML = """\
apiVersion: example.com/v1
kind: Odd
metadata:
  name: odd
  annotations: &labels {app: odd, "quoted": 'yes', on: off, count: !!str 3, empty: ~, eq: =}
data:
  merged: {<<: *labels, extra: x}
  list: &list [1, 2.5, true, null, 2026-11-26, !!binary aGk=, "a"]
  again: *list
"""


def test_fast_constructor_matches_pyyaml_safe_load(tmp_path: Path) -> None:
    """Plain maps/lists/strings take the fast path; every other tag and merge keys the general one.

    Where kubectl's decoder differs from PyYAML (a timestamp stays text), the text is expected.
    """
    path = write(tmp_path, "odd.yaml", ODD_YAML)
    [manifest] = load([str(path)]).manifests
    expected = yaml.safe_load(ODD_YAML.replace(" =}", " '='}").replace("2026-11-26", "'2026-11-26'"))
    assert manifest.obj == expected
    assert manifest.obj["metadata"]["annotations"]["eq"] == "="
    assert manifest.obj["metadata"]["annotations"][True] is False
    assert manifest.obj["data"]["merged"]["extra"] == "x" and manifest.obj["data"]["merged"]["app"] == "odd"


def test_json_files_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.json", '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}')
    assert load([str(path)]).manifests[0].kind == "Service"


def test_directory_is_recursive_takes_gate_yaml_as_config_and_skips_non_kubernetes(tmp_path: Path) -> None:
    write(tmp_path, "gate.yaml", "pairs: []\n")
    write(tmp_path, "deep/dir/web.yml", DEPLOYMENT)
    write(tmp_path, "ci/workflow.yaml", "on: push\njobs: {}\n")
    result = load([str(tmp_path)])
    assert [m.ref().name for m in result.manifests] == ["web"]
    assert result.config_file == tmp_path / "gate.yaml"
    assert list(result.skipped_files) == [str(tmp_path / "ci/workflow.yaml")]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DEPLOYMENT))
    [manifest] = load(["-"]).manifests
    assert manifest.file == "<stdin>" and manifest.ref().name == "web"


def test_crd_defined_kind_and_foreign_groups_are_accepted(tmp_path: Path) -> None:
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}\n"
           "spec: {group: example.com, names: {kind: Widget}}\n---\n"
           "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
           "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n")
    assert len(load([str(write(tmp_path, "crd.yaml", crd))]).manifests) == 3


@pytest.mark.parametrize(("text", "message"), [
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n", r"x\.yaml:\d+: invalid YAML"),
    ("apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n",
     r"x\.yaml:2: unknown kind 'Deploymnet' for apiVersion apps/v1"),
    ("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n",
     r"x\.yaml:2: apiVersion extensions/v1beta1 is not served"),
    ("apiVersion: v1\nmetadata: {name: x}\n", r"x\.yaml:1: missing kind"),
    ("apiVersion: v1\nkind: Service\nmetadata: {}\n", r"x\.yaml:3: Service has no metadata.name"),
    ("- just\n- a list\n", r"x\.yaml:1: expected a Kubernetes object"),
    ("apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: x}\n",
     r"x\.yaml:3: invalid YAML: duplicate key 'kind'"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 80, 'port': 81}]\n",
     r"x\.yaml:5: invalid YAML: duplicate key 'port' \(first at line 5\)"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {1: a, 0x1: b}\n",
     r"x\.yaml:4: invalid YAML: duplicate key 1"),
    ("base: &b {x: 1}\napiVersion: v1\nkind: Service\nmetadata: {name: x, <<: *b, x: 2, x: 3}\n",
     r"x\.yaml:4: invalid YAML: duplicate key 'x'"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {? [a]: b}\n",
     r"x\.yaml:4: invalid YAML: found unhashable key"),
])
def test_bad_manifests_are_one_line_errors_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "x.yaml", text)
    with pytest.raises(ManifestError, match=message) as error:
        load([str(path)])
    assert "\n" not in str(error.value)


def test_missing_and_binary_paths(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file or directory"):
        load([str(tmp_path / "nope.yaml")])
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ManifestError, match="not a text file"):
        load([str(binary)])


def test_apply_output_name_lines_become_kinds_and_names() -> None:
    refs = parse_apply_output("deployment.apps/web\nservice/web configured\n", "out")
    assert refs == [("Deployment", "web"), ("Service", "web")]


def test_apply_output_yaml_becomes_manifests() -> None:
    result = parse_apply_output(DEPLOYMENT, "out")
    assert not isinstance(result, list) and result.manifests[0].ref().name == "web"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="-k renders with kubectl kustomize")
def test_kustomization_is_rendered(tmp_path: Path) -> None:
    write(tmp_path, "app/deployment.yaml", DEPLOYMENT)
    write(tmp_path, "app/kustomization.yaml", "resources: [deployment.yaml]\nnamespace: shop\n"
                                              "commonLabels: {team: video}\n")
    [manifest] = load([], [str(tmp_path / "app")]).manifests
    assert manifest.ref().namespace == "shop"
    assert manifest.obj["spec"]["template"]["metadata"]["labels"] == {"app": "web", "team": "video"}
    assert manifest.file == str(tmp_path / "app/deployment.yaml")  # its source file (tests/unit/test_kustomize_origin)


def test_kustomize_without_kubectl_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ManifestError, match="-k needs kubectl on PATH"):
        load([], [str(tmp_path)])


def test_unreadable_directory_in_a_walk_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root the permission cannot be taken away; os.scandir raises what it would raise."""
    write(tmp_path, "web.yaml", DEPLOYMENT)
    (tmp_path / "secret").mkdir()
    scandir = os.scandir

    def guarded(path: str | os.PathLike[str]) -> Any:
        if Path(path).name == "secret":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr("gate.manifests.inputs.files.os.scandir", guarded)
    with pytest.raises(ManifestError, match=r"secret: cannot read the directory: Permission denied"):
        load([str(tmp_path)])


def test_configmap_and_secret_payloads_are_not_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\n"
                                     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: hunter2}\n")
    assert [sorted(m.obj) for m in load([str(path)]).manifests] == [["apiVersion", "kind", "metadata"]] * 2


def test_a_directory_1100_levels_deep_is_one_error_not_a_recursion_error(tmp_path: Path) -> None:
    """os.walk recursed once per level (RecursionError, an internal error); the walk is iterative and bounded."""
    deep = tmp_path
    try:
        for _ in range(1100):
            deep = deep / "d"
            deep.mkdir()
        write(deep, "x.yaml", DEPLOYMENT)
        with pytest.raises(ManifestError, match=r"more than 100 directories deep below"):
            load([str(tmp_path)])
    finally:  # bottom-up, here: pytest's own clean-up of old temporary directories recurses and would fail on it
        while deep != tmp_path:
            for child in deep.iterdir():
                child.unlink()
            deep.rmdir()
            deep = deep.parent


def test_apply_output_with_prune_leaves_pruned_objects_out() -> None:
    """`kubectl apply --prune` deleted the pruned object: it is not part of the touched set."""
    refs = parse_apply_output("deployment.apps/web configured\nservice/old pruned\nconfigmap/cfg unchanged\n", "out")
    assert refs == [("Deployment", "web"), ("ConfigMap", "cfg")]


@pytest.mark.parametrize(("scalar", "value"), [
    ("y", True), ("N", False), ("on", True), ("off", False), ("~", None), ("", None), ("0o17", 15), ("017", 15),
    ("0x1F", 31), ("0b101", 5), ("-0b101", -5), ("1_000", 1000), ("+12", 12), ("1e3", 1000), ("80.0", 80),
    ("08", 8), ("2.5", 2.5), (".5", 0.5), ("2:14:20", "2:14:20"), ("2026-11-27", "2026-11-27"), ("=", "="),
    ("1" * 20, 11111111111111111111), ("9" * 20, 10 ** 20), ("9" * 25, 1e25), ("1" * 400, "1" * 400),
    ("0x" + "f" * 17, "0x" + "f" * 17),
    ("yes please", "yes please"), ("'y'", "y"), ("18446744073709551615", 18446744073709551615),
])
def test_plain_scalars_are_read_as_kubectl_reads_them(scalar: str, value: object) -> None:
    """sigs.k8s.io/yaml's go-yaml v2 resolution (resolve.go), not PyYAML's YAML 1.1."""
    [(data, _, _)] = parse_documents(f"x: {scalar}\n", "s.yaml")
    assert data["x"] == value and type(data["x"]) is type(value)
