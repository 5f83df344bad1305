"""The GitHub Action's step: inputs (INPUT_* from `env:`) to a deploy-gate run, and its outputs.

action.yml passes every input through `env:`, never interpolated into `run:`,
so no input can inject shell. This module turns them into argv, runs the gate
(whose reporters write the annotations and step summary), and writes the
outputs `result`, `failed` and `junit-path` to $GITHUB_OUTPUT, each in the
`name<<DELIMITER` form with a random delimiter, so no value (a junit-path
holding a newline) can add an output of its own.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from gate.errors import EXIT_FAILED, EXIT_OK, Ending, UsageError, error_handler
from gate.report.base import Report
from gate.report.github import annotations
from gate.report.publish import say

FLAG_INPUTS = {  # input name -> CLI flag taking a value
    "namespace": "--namespace",
    "context": "--context",
    "kubeconfig": "--kubeconfig",
    "config": "--config",
    "timeout": "--timeout",
    "endpoints-timeout": "--endpoints-timeout",
    "rollout-timeout": "--rollout-timeout",
    "argocd-app": "--argocd-app",
    "argocd-namespace": "--argocd-namespace",
    "helm-release": "--helm-release",
    "flux-kustomization": "--flux-kustomization",
    "flux-helmrelease": "--flux-helmrelease",
    "flux-namespace": "--flux-namespace",
}
# Inputs that are "true" or "false", each a flag of one mode.
SWITCH_INPUTS = {"verify": ("wait-full-timeout", "fail-fast"), "lint": ("strict",)}
VERIFY_ONLY = {"context", "kubeconfig", "timeout", "endpoints-timeout", "rollout-timeout", "argocd-app",
               "argocd-namespace", "helm-release", "flux-kustomization", "flux-helmrelease", "flux-namespace"}


def _input(name: str) -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()


def build_argv() -> list[str]:
    mode = _input("mode") or "verify"
    if mode not in ("verify", "lint"):
        raise UsageError(f"input mode: expected verify or lint, got {mode!r}")
    argv = [mode]
    for path in _input("manifests").splitlines():
        if path.strip():
            argv += ["-f", path.strip()]
    for directory in _input("kustomize").splitlines():
        if directory.strip():
            argv += ["-k", directory.strip()]
    for name, flag in FLAG_INPUTS.items():
        value = _input(name)
        if value and (mode == "verify" or name not in VERIFY_ONLY):
            argv += [flag, value]
    argv += [f"--{name}" for name in SWITCH_INPUTS[mode] if _input(name).lower() == "true"]
    argv += ["--junit", _input("junit-path") or "deploy-gate-junit.xml"]
    return argv


def failed_checks(junit: Path) -> int:
    """Failed testcases in a report."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return 0
    return sum(1 for case in root.iter("testcase") if case.find("failure") is not None)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Which file path names now: deploy-gate writes a report by renaming a new file over it."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_mtime_ns) if stat.S_ISREG(status.st_mode) else None


def output_lines(outputs: dict[str, str]) -> str:
    """$GITHUB_OUTPUT lines, each value between delimiters it does not contain (GitHub's multiline form)."""
    lines = []
    for name, value in outputs.items():
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:  # 128 random bits: only a value that guessed them could hold them
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "".join(f"{line}\n" for line in lines)


def _annotate(why: Ending) -> None:
    """The action's own error, as the run's would be: an annotation at the top of the run."""
    print(annotations(Report.unfinished("action", why.exit_code, why.message))[0], file=sys.stderr)


def main() -> int:
    """deploy-gate's exit code; the action's own error (an input) goes through the same funnel (exit 2)."""
    with error_handler(say, _annotate):
        return _run_gate()


def _run_gate() -> int:
    """Run deploy-gate with the inputs' argv, then write the step's outputs from this run's JUnit report."""
    argv = build_argv()
    junit = Path(argv[argv.index("--junit") + 1])
    # Never removed here: the path may be one deploy-gate refuses (an input, a device). A report counts only
    # if this run wrote it, so a stale one is not read even when deploy-gate could not start.
    before = _identity(junit)
    code = subprocess.run([sys.executable, "-m", "gate", *argv], check=False).returncode
    result = {EXIT_OK: "success", EXIT_FAILED: "failure"}.get(code, "error")
    written = _identity(junit)
    failed = failed_checks(junit) if written is not None and written != before else 0
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8", errors="surrogateescape") as out:
            out.write(output_lines({"result": result, "failed": str(failed), "junit-path": str(junit)}))
    return code


if __name__ == "__main__":
    sys.exit(main())
