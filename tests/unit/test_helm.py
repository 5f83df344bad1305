"""--helm-release (a release's record, decoded as Helm writes it) and --helm / `helm template | lint -f -`.

The records are built here the way Helm's storage drivers write them: the release as JSON, gzipped, in
base64 text; a Secret's data is base64 once more (the API's encoding), a ConfigMap's is the text.
"""

from __future__ import annotations

import base64
import gzip
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gate.cluster
from gate.cli import main
from gate.cluster import LimitExceeded
from gate.errors import UsageError
from gate.findings import Outcome
from gate.helm import (
    MalformedRelease,
    hooks_note,
    latest_release,
    release_touched,
    status_finding,
    storage_resource,
)
from gate.kinds import Resource
from gate.location import Location
from gate.manifests import helm_stream, load
from gate.objects import ObjectRef
from tests.testing.helm_records import (
    CONFIGMAPS,
    MANIFEST,
    NS,
    SAME_NAMESPACE,
    SECRETS,
    StorageCluster,
    helm_text,
    record,
    release,
)


def read(*records: dict[str, Any], storage: Resource = SECRETS) -> Any:
    return latest_release(StorageCluster(*records), "web", NS, storage)  # type: ignore[arg-type]


# --- the record ---------------------------------------------------------------------------------------------


def test_the_latest_revision_is_decoded_from_a_secret() -> None:
    cluster = StorageCluster(record(release(1, "superseded")), record(release(3)), record(release(2, "superseded")))
    found = latest_release(cluster, "web", NS, SECRETS)  # type: ignore[arg-type]
    assert (found.revision, found.status, found.namespace) == (3, "deployed", NS)
    assert found.manifest == MANIFEST
    assert cluster.asked == [("Secret", NS, "owner=helm,name=web")]
    assert found.record == f"secret/sh.helm.release.v1.web.v3 in namespace {NS}"


def test_revision_10_is_later_than_revision_9() -> None:
    assert read(record(release(9, "superseded")), record(release(10))).revision == 10


def test_the_configmap_driver_reads_configmaps() -> None:
    assert storage_resource({"HELM_DRIVER": "configmap"}) is CONFIGMAPS
    assert storage_resource({}) is SECRETS and storage_resource({"HELM_DRIVER": "secrets"}) is SECRETS
    found = read(record(release(2), CONFIGMAPS), storage=CONFIGMAPS)
    assert (found.revision, found.record) == (2, f"configmap/sh.helm.release.v1.web.v2 in namespace {NS}")


@pytest.mark.parametrize("driver", ["sql", "memory", "Secret"])
def test_a_driver_that_is_not_in_the_cluster_is_a_usage_error(driver: str) -> None:
    with pytest.raises(UsageError, match=f"HELM_DRIVER='{driver}'"):
        storage_resource({"HELM_DRIVER": driver})


def test_a_record_written_before_helm_compressed_is_read() -> None:
    assert read(record(release(), text=helm_text(release(), compress=False))).revision == 1


def test_a_secret_of_another_type_is_not_a_release() -> None:
    other = record(release())
    other["type"] = "Opaque"
    with pytest.raises(UsageError, match="no Helm release 'web' in namespace shop"):
        read(other)


def test_no_release_is_a_usage_error_naming_the_namespace() -> None:
    with pytest.raises(UsageError, match="no Helm release 'web' in namespace shop"):
        read()


def test_a_gzip_bomb_is_stopped_at_the_response_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_GATE_MAX_RESPONSE_BYTES", "100000")
    bomb = base64.b64encode(gzip.compress(b"{" + b" " * 50_000_000 + b"}")).decode()
    assert len(bomb) < 100_000
    with pytest.raises(LimitExceeded, match="decompresses to more than DEPLOY_GATE_MAX_RESPONSE_BYTES=100000"):
        read(record(release(), text=bomb))


@pytest.mark.parametrize(("text", "message"), [
    ("not base64!", "the release is not base64"),
    (base64.b64encode(b"\x1f\x8b\x08junk").decode(), "not valid gzip"),
    (base64.b64encode(gzip.compress(b'{"name": "web"}', mtime=0)[:-12]).decode(), "gzip stream is cut short"),
    (helm_text([1, 2]), "not a JSON object"),
    (helm_text("x"), "not a JSON object"),
    (base64.b64encode(b"{nope").decode(), "malformed JSON"),
    (helm_text({**release(), "info": "deployed"}), "release field 'info': expected an object, got a string"),
    (helm_text({**release(), "info": {"status": "shipped"}}), "unknown release status 'shipped'"),
    (helm_text({**release(), "manifest": 7}), "release field 'manifest': expected a string, got a number"),
    (helm_text({**release(), "version": True}), "release field 'version': expected a number, got a boolean"),
    (helm_text({**release(), "version": 2}), "labelled version 1 but holds revision 2"),
])
def test_a_malformed_record_cannot_be_verified(text: str, message: str) -> None:
    with pytest.raises(gate.cluster.MalformedAnswer) as raised:
        read(record(release(), text=text, version="1"))
    assert raised.value.exit_code == 3
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_manifest_that_is_not_yaml_cannot_be_verified() -> None:
    found = read(record({**release(), "manifest": "---\n# Source: web/templates/x.yaml\nkind: [\n"}))
    with pytest.raises(MalformedRelease) as raised:
        release_touched(found)
    assert raised.value.exit_code == 3
    assert str(raised.value).startswith(f"could not verify: secret/sh.helm.release.v1.web.v1 in namespace {NS}: the "
                                        "release manifest: web/templates/x.yaml:2: invalid YAML")


def test_a_secret_whose_data_is_not_helm_text_cannot_be_verified() -> None:
    broken = record(release())
    broken["data"]["release"] = base64.b64encode(b"\xff\xfe").decode()
    with pytest.raises(MalformedRelease, match="not Helm's base64 text"):
        read(broken)
    del broken["data"]
    with pytest.raises(MalformedRelease, match=r"no data\.release entry"):
        read(broken)


# --- status, hooks, the touched set -----------------------------------------------------------------------


def test_a_deployed_revision_passes_and_its_objects_are_touched_in_the_release_namespace() -> None:
    found = read(record(release()))
    assert status_finding(found).outcome is Outcome.PASSED
    touched = release_touched(found)
    assert [t.ref for t in touched] == [ObjectRef("Service", NS, "web"), ObjectRef("Deployment", "other", "web")]
    service = touched[0].manifest
    assert service is not None and service.location("spec", "selector") == Location("web/templates/service.yaml", 6)


@pytest.mark.parametrize(("status", "words"), [
    ("failed", "is failed: Upgrade \"web\" failed: context deadline exceeded"),
    ("pending-upgrade", "is pending-upgrade (Helm has not finished it, or was stopped before it did)"),
    ("pending-install", "is pending-install"),
    ("uninstalled", "is uninstalled"),
])
def test_a_revision_that_is_not_deployed_is_a_failed_check_in_helms_words(status: str, words: str) -> None:
    found = read(record(release(2, status, 'Upgrade "web" failed: context deadline exceeded')))
    finding = status_finding(found)
    assert finding.outcome is Outcome.FAILED and finding.is_error
    assert f"helm release web revision 2 {words}" in finding.message
    assert release_touched(found) == []  # nothing is watched: Helm's own verdict is the answer


def test_hooks_are_not_touched_and_a_note_says_so() -> None:
    found = read(record(release()))
    assert all(t.ref.kind != "Job" for t in release_touched(found))
    assert hooks_note(found) == ("helm release web: 1 hook(s) not verified (hooks are not part of the release "
                                 "manifest; helm ran them): web/templates/migrate-job.yaml")
    assert hooks_note(read(record({**release(), "hooks": []}))) is None


def verify_release(monkeypatch: pytest.MonkeyPatch, *records: dict[str, Any], junit: Path | None = None) -> Any:
    monkeypatch.setattr(gate.cluster, "Cluster", StorageCluster(*records))
    return CliRunner().invoke(main, ["verify", "--helm-release", "web", "-n", NS,
                                     *(["--junit", str(junit)] if junit else [])])


def test_verify_of_a_failed_release_exits_1_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = verify_release(monkeypatch, record(release(4, "failed", "Upgrade \"web\" failed: timed out")),
                            junit=tmp_path / "j.xml")
    assert result.exit_code == 1, result.output
    assert 'helm release web revision 4 is failed: Upgrade "web" failed: timed out' in result.output
    assert "helm-release" in (tmp_path / "j.xml").read_text()


def test_verify_of_garbage_is_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    result = verify_release(monkeypatch, record(release(), text="@@@", version="1"))
    assert result.exit_code == 3
    assert result.output.strip().splitlines()[-1].startswith("deploy-gate: error: could not verify: secret/sh.helm")


def test_verify_refuses_a_driver_it_cannot_read_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELM_DRIVER", "sql")
    cluster = StorageCluster()
    monkeypatch.setattr(gate.cluster, "Cluster", cluster)
    result = CliRunner().invoke(main, ["verify", "--helm-release", "web"])
    assert result.exit_code == 2 and "HELM_DRIVER='sql'" in result.output and cluster.asked == []


# --- helm template: # Source: mapping -------------------------------------------------------------------------


def test_a_helm_stream_locates_objects_in_their_templates() -> None:
    service, deployment = helm_stream(MANIFEST, "<stdin>", "charts/web")
    assert service.location("spec", "selector") == Location("charts/web/templates/service.yaml", 6)
    assert deployment.location("spec", "template", "metadata", "labels") == \
        Location("charts/web/templates/deployment.yaml", 11)


def test_a_document_without_a_source_keeps_its_line_in_the_stream() -> None:
    text = MANIFEST + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n"
    plain = helm_stream(text, "<stdin>")[-1]
    assert (plain.file, plain.line) == ("<stdin>", text.splitlines().index("apiVersion: v1", 20) + 1)


def test_stdin_from_helm_template_gets_the_template_locations() -> None:
    result = CliRunner().invoke(main, ["lint", "-f", "-"], input=SAME_NAMESPACE)
    assert result.exit_code == 1, result.output
    assert "web/templates/service.yaml:6:1: error: service/web selects app=web,tier=backend" in result.output
    assert "    rendered: <stdin>:8\n" in result.output  # the selector's line in what helm printed


def fake_helm(directory: Path, script: str) -> None:
    helm = directory / "helm"
    helm.write_text(f"#!/bin/sh\n{script}\n")
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)


def test_lint_helm_renders_the_chart_and_points_at_its_template_files(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (tmp_path / "rendered.yaml").write_text(SAME_NAMESPACE)
    fake_helm(tmp_path, f'echo "$@" > {tmp_path}/args; cat {tmp_path}/rendered.yaml')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lint", "--helm", "web", "--helm-values", "fixed.yaml", "--helm-set",
                                       "tier=backend", "-n", "default"])
    assert result.exit_code == 1, result.output
    assert "web/templates/service.yaml:6:1: error: service/web selects" in result.output
    assert "    rendered: web (helm template):8\n" in result.output
    assert (tmp_path / "args").read_text().split() == ["template", "--values=fixed.yaml", "--set=tier=backend",
                                                       "--namespace=default", "--", "web"]


def test_lint_helm_without_helm_on_path_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["lint", "--helm", "web"])
    assert result.exit_code == 2
    assert "deploy-gate: error: web: --helm needs helm on PATH (it renders the chart)" in result.output


def test_a_failing_helm_template_is_exit_2_with_its_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_helm(tmp_path, 'echo "Error: values don\'t meet the specifications of the schema(s)" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    result = CliRunner().invoke(main, ["lint", "--helm", "web"])
    assert result.exit_code == 2
    assert "web: helm template: Error: values don't meet the specifications" in result.output


def test_helm_values_without_helm_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["lint", "--helm-set", "a=b", "x.yaml"])
    assert result.exit_code == 2 and "--helm-values and --helm-set need --helm CHART" in result.output


def test_a_saved_rendering_keeps_its_own_file_and_lines(tmp_path: Path) -> None:
    saved = tmp_path / "rendered.yaml"
    saved.write_text(MANIFEST)
    service = load([str(saved)]).manifests[0]
    assert (service.file, service.line) == (str(saved), 3)


def test_the_action_input_helm_release_becomes_the_flag_in_verify_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.github_action import build_argv

    for name, value in {"MODE": "verify", "HELM_RELEASE": "inference-api", "NAMESPACE": "shop"}.items():
        monkeypatch.setenv(f"INPUT_{name}", value)
    assert build_argv() == ["verify", "--namespace", "shop", "--helm-release", "inference-api", "--junit",
                            "deploy-gate-junit.xml"]
    monkeypatch.setenv("INPUT_MODE", "lint")
    monkeypatch.setenv("INPUT_MANIFESTS", "m/")
    assert "--helm-release" not in build_argv()
