"""Outputs never destroy what they name, and never crash or hang on what they are given: report paths that are
inputs, directories, devices or FIFOs are refused before any work; a file name that is not UTF-8 renders in every
format; a full disk or a FIFO as the step summary is one line and an exit code, not a traceback or a hang."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.report.github import markdown_text
from tests.testing.git import EXAMPLES
from tests.testing.reports import UNREACHABLE, valid_junit, valid_sarif

SCENARIO = EXAMPLES / "incident-scenario-2"  # lint fails: service.yaml:7 selects a label no pod has
SERVICE = SCENARIO / "manifests" / "service.yaml"
NOT_UTF8 = b"serv\xffice.yaml"


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"GITHUB_ACTIONS": None, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def gate(*args: str, timeout: float = 60, **popen: object) -> subprocess.CompletedProcess[str]:
    """deploy-gate in its own process: its real stdout, and a timeout so a hang fails instead of blocking."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env.update(popen.pop("env", {}))  # type: ignore[call-overload]
    return subprocess.run([sys.executable, "-m", "gate", *args], cwd=Path(__file__).parents[2], env=env, text=True,
                          stderr=subprocess.PIPE, timeout=timeout, check=False, **popen)  # type: ignore[call-overload]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("deploy-gate")]


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A manifest file, a manifest directory with its gate.yaml, a config and a kubeconfig; no work may start."""
    shutil.copy(SERVICE, tmp_path / "m.yaml")
    shutil.copytree(SCENARIO, tmp_path / "dir")
    (tmp_path / "c.yaml").write_text("pairs: []\n")
    (tmp_path / "kubeconfig").write_text(UNREACHABLE)

    def no_work(*_: object) -> None:
        raise AssertionError("the run started its work before it checked its outputs")
    monkeypatch.setattr("gate.inputs.load", no_work)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(("args", "message"), [
    (("lint", "m.yaml", "--junit", "m.yaml"), "--junit m.yaml: is the input m.yaml; writing the report would "
                                              "replace it"),
    (("lint", "-f", "m.yaml", "--junit", "link.xml"), "--junit link.xml: is the input m.yaml"),
    (("lint", "dir", "--junit", "dir/manifests/service.yaml"), "is a manifest file name inside the input "
                                                               "directory dir"),
    (("lint", "dir", "--junit", "dir/gate.yaml"), "inside the input directory dir"),
    (("lint", "dir", "--junit", "dir/new.yml"), "inside the input directory dir"),
    (("lint", "m.yaml", "--config", "c.yaml", "--junit", "c.yaml"), "is the input c.yaml"),
    (("verify", "m.yaml", "--metrics-file", "m.yaml"), "--metrics-file m.yaml: is the input m.yaml"),
    (("verify", "m.yaml", "--kubeconfig", "kubeconfig", "--junit", "kubeconfig"), "is the input kubeconfig"),
    (("verify", "--from-apply-output", "m.yaml", "--metrics-file", "m.yaml"), "is the input m.yaml"),
    (("explain", "--from", "a", "--to", "b:80", "-f", "m.yaml", "--junit", "m.yaml"), "is the input m.yaml"),
    (("lint", "m.yaml", "--junit", "m.yaml", "--bogus-option"), None),  # click's error: guarded all the same
    (("lint", "-fm.yaml", "--junit=m.yaml", "--bogus-option"), None),
    (("verify", "m.yaml", "--junit", "same.xml", "--metrics-file", "same.xml"), "--metrics-file same.xml: is also "
                                                                                "--junit"),
])
def test_a_report_path_that_is_an_input_is_refused_before_any_work(inputs: Path, args: tuple[str, ...],
                                                                  message: str | None) -> None:
    (inputs / "link.xml").symlink_to(inputs / "m.yaml")
    before = snapshot(inputs)
    code, out, err = run(*args)
    assert code == 2 and out == ""
    if message:
        assert error_lines(err) == [error_lines(err)[0]] and message in err, err
    after = snapshot(inputs)
    assert {path: data for path, data in after.items() if path in before} == before  # every input intact
    assert (inputs / "link.xml").is_symlink()


def special_files(root: Path) -> dict[str, tuple[Path, str]]:
    """Paths a report must not be renamed over, and the word for each; a device node only where mknod is allowed."""
    (root / "directory").mkdir(parents=True)
    os.mkfifo(root / "fifo")
    (root / "link-to-fifo").symlink_to(root / "fifo")
    files = {"directory": (root / "directory", "is a directory"), "fifo": (root / "fifo", "is a FIFO"),
             "link-to-fifo": (root / "link-to-fifo", "is a FIFO (through a symlink)")}
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        files["device"] = (root / "null", "is a character device")
    except PermissionError:
        pass
    return files


@pytest.mark.parametrize("option", ["--junit", "--metrics-file"])
def test_a_report_path_that_is_no_regular_file_is_refused_and_left_as_it_is(inputs: Path, option: str) -> None:
    for path, message in special_files(inputs / "special").values():
        mode = path.lstat().st_mode
        code, _, err = run("verify", "m.yaml", option, str(path))
        assert code == 2 and f"{option} {path}: {message}" in err and len(error_lines(err)) == 1, err
        assert path.lstat().st_mode == mode


@pytest.mark.parametrize("path", ["/proc/self/status", "/proc/report.xml"])
def test_a_report_in_proc_is_a_usage_error_not_an_internal_one(inputs: Path, path: str) -> None:
    code, _, err = run("lint", "m.yaml", "--junit", path)
    assert code == 2 and f"--junit {path}: cannot create a file in /proc" in err and "internal" not in err


def test_a_report_replaces_a_regular_file_through_its_symlink_with_the_usual_mode(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "old.xml").write_text("stale")
    (tmp_path / "junit.xml").symlink_to(reports / "old.xml")
    (tmp_path / "gate.prom").write_text("stale")
    umask = os.umask(0o022)
    try:
        code, _, _ = run("lint", str(SCENARIO), "--junit", str(tmp_path / "junit.xml"))
    finally:
        os.umask(umask)
    assert code == 1 and (tmp_path / "junit.xml").is_symlink()
    assert len(list(valid_junit((reports / "old.xml").read_text()).iter("failure"))) == 1
    assert stat.S_IMODE((reports / "old.xml").stat().st_mode) == 0o644
    assert sorted(p.name for p in reports.iterdir()) == ["old.xml"]  # no temporary file left beside it


def test_a_file_name_that_is_not_utf8_renders_in_every_format(tmp_path: Path) -> None:
    shutil.copytree(SCENARIO, tmp_path / "s")
    os.rename(tmp_path / "s" / "manifests" / "service.yaml", os.fsdecode(bytes(tmp_path / "s" / "manifests")
                                                                         + b"/" + NOT_UTF8))
    shown = f"{tmp_path}/s/manifests/serv\\udcffice.yaml"
    code, out, _ = run("lint", str(tmp_path / "s"), "-o", "sarif", "--sarif-root", str(tmp_path))
    [result] = [r for r in valid_sarif(out)["runs"][0]["results"] if r["level"] == "error"]
    assert code == 1
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "s/manifests/serv%FFice.yaml"
    code, out, _ = run("lint", str(tmp_path / "s"), "-o", "json")
    out.encode("utf-8")
    [failed] = [f for f in json.loads(out)["findings"] if f["outcome"] == "failed" and f["severity"] == "error"]
    assert failed["locations"][0]["file"] == shown
    summary = tmp_path / "summary.md"
    code, out, err = run("lint", str(tmp_path / "s"), "-o", "junit", "--junit", str(tmp_path / "j.xml"),
                         env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1 and valid_junit(out).find(".//testsuite[@file]") is not None
    assert (tmp_path / "j.xml").read_text() == out.replace("##[", "##&#91;")
    assert f"::error file={shown},line=7," in err
    assert f"{markdown_text(shown)}:7" in summary.read_text()


full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@full
@pytest.mark.parametrize("output", ["text", "json"])
def test_stdout_on_a_full_disk_is_one_line_and_exit_3(output: str) -> None:
    with open("/dev/full", "w") as stdout:
        result = gate("lint", str(SCENARIO), "-o", output, stdout=stdout)
    assert result.returncode == 3
    assert result.stderr == "deploy-gate: error: cannot write stdout: No space left on device\n"


@full
def test_a_step_summary_on_a_full_disk_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = gate("lint", str(SCENARIO), "--junit", str(tmp_path / "j.xml"), stdout=subprocess.DEVNULL,
                  env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/dev/full"})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert error_lines(result.stderr) == ["deploy-gate: error: cannot write GITHUB_STEP_SUMMARY /dev/full: No space "
                                          "left on device"]
    assert len(list(valid_junit((tmp_path / "j.xml").read_text()).iter("failure"))) == 1  # the others written


def test_a_fifo_as_step_summary_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    result = gate("lint", str(SCENARIO), stdout=subprocess.DEVNULL, timeout=30,
                  env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "fifo")})
    assert result.returncode == 2
    assert error_lines(result.stderr) == [f"deploy-gate: error: GITHUB_STEP_SUMMARY {tmp_path / 'fifo'}: is a FIFO, "
                                          "not a regular file; give a file path"]


def test_a_report_that_cannot_be_written_is_exit_3_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("gate.report.publish.replace_file", full_disk)
    code, out, err = run("lint", str(SCENARIO), "-o", "json", "--junit", str(tmp_path / "j.xml"))
    assert code == 3 and json.loads(out)["exit_code"] == 1  # stdout has its verdict, once
    assert error_lines(err) == [f"deploy-gate: error: cannot write --junit {tmp_path / 'j.xml'}: No space left on "
                                "device"]
