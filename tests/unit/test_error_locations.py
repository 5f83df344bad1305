"""An input error that knows its file:line keeps it in every report of the run it ends (exit 2).

The one line on stderr always named it; the GitHub annotation, the JUnit file and the SARIF log now place
the error on that line too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.config import load_config
from gate.errors import ConfigError, ManifestError
from gate.location import Location
from gate.manifests import load
from tests.testing.reports import valid_junit, valid_sarif

SERVICE = """\
kind: Service
apiVersion: v1
metadata:
  namespace: shop
  name: web
spec:
  ports:
  - name: http
    port: 80
    targetPort: 8080
  selector: {app: web}
  type: Sideways
"""
MESSAGE = "m.yaml:12: spec.type: expected ClusterIP, NodePort, LoadBalancer or ExternalName, got 'Sideways'"


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # relative to the checkout, as in CI
    Path("m.yaml").write_text(SERVICE)
    return "m.yaml"


def lint(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lint", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_manifest_error_carries_its_location(manifest: str) -> None:
    with pytest.raises(ManifestError) as error:
        load([manifest])
    assert (str(error.value), error.value.location) == (MESSAGE, Location("m.yaml", 12))


def test_a_gate_yaml_error_carries_its_location(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("pairs:\n- from: deployment/web\n  to: web:80\n  expect: maybe\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "gate.yaml")
    assert error.value.location == Location(str(tmp_path / "gate.yaml"), 4)
    assert str(error.value) == f"{tmp_path}/gate.yaml:4: pairs[0].expect: expected 'allow' or 'deny', got 'maybe'"


def test_a_file_named_like_a_location_is_no_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error about a whole file (no line) named `svc:3` is at no line: the location travels as a value, never
    re-read from the message's "file:line" text (which took it for line 3 of `svc`)."""
    monkeypatch.chdir(tmp_path)
    Path("svc:3").write_text('a: "\x01"\n')  # libyaml's reader error has no line
    with pytest.raises(ManifestError) as error:
        load(["svc:3"])
    assert str(error.value).startswith("svc:3: invalid YAML: unacceptable character #x0001")
    assert error.value.location is None


def test_the_github_annotation_is_at_the_line(manifest: str) -> None:
    code, _, err = lint(manifest, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": os.devnull})
    assert code == 2
    assert (f"::error file=m.yaml,line=12,title=deploy-gate lint%3A usage-error::{MESSAGE}") in err.splitlines()


def test_the_junit_error_is_in_the_files_suite_and_ends_with_the_line(manifest: str) -> None:
    code, _, _ = lint(manifest, "--junit", "r.xml")
    assert code == 2
    document = valid_junit(Path("r.xml").read_text())
    [suite] = document.iter("testsuite")
    [error] = suite.iter("error")
    assert (suite.get("file"), error.get("message")) == ("m.yaml", MESSAGE)
    assert error.text.splitlines() == [MESSAGE, "exit code 2: no check ran to a verdict", "at m.yaml:12"]


def test_the_sarif_log_has_one_result_at_the_line(manifest: str) -> None:
    code, out, _ = lint(manifest, "-o", "sarif")
    assert code == 2
    run = valid_sarif(out)["runs"][0]
    [result] = run["results"]
    assert (result["ruleId"], result["level"], result["message"]["text"]) == ("usage-error", "error", MESSAGE)
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "m.yaml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 12, "startColumn": 1}}
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["usage-error"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_the_json_error_has_the_location(manifest: str) -> None:
    code, out, _ = lint(manifest, "-o", "json")
    assert code == 2
    assert json.loads(out)["error"] == {"kind": "usage-error", "message": MESSAGE,
                                        "location": {"file": "m.yaml", "line": 12}}


def test_an_error_without_a_line_has_no_location_and_no_sarif_result(tmp_path: Path) -> None:
    code, out, _ = lint(str(tmp_path / "missing.yaml"), "-o", "sarif")
    assert code == 2 and valid_sarif(out)["runs"][0]["results"] == []
