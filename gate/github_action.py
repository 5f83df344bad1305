"""The GitHub Action's step: inputs (INPUT_* from `env:`) to a deploy-gate run, and its outputs.

action.yml passes every input through `env:`, never interpolated into `run:`,
so no input can inject shell. This module turns them into argv, runs the gate
(whose reporters write the annotations and step summary), and writes the
outputs `result`, `failed` and `junit-path` to $GITHUB_OUTPUT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from gate.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from gate.report.base import Report
from gate.report.github import annotations

FLAG_INPUTS = {  # input name -> CLI flag taking a value
    "namespace": "--namespace",
    "context": "--context",
    "kubeconfig": "--kubeconfig",
    "config": "--config",
    "endpoints-timeout": "--endpoints-timeout",
    "rollout-timeout": "--rollout-timeout",
    "argocd-app": "--argocd-app",
    "argocd-namespace": "--argocd-namespace",
}
# Inputs that are "true" or "false", each a flag of one mode.
SWITCH_INPUTS = {"verify": ("wait-full-timeout", "fail-fast"), "lint": ("strict",)}
VERIFY_ONLY = {"context", "kubeconfig", "endpoints-timeout", "rollout-timeout", "argocd-app", "argocd-namespace"}


def _input(name: str) -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()


def build_argv() -> list[str]:
    mode = _input("mode") or "verify"
    if mode not in ("verify", "lint"):
        raise ValueError(f"input mode: expected verify or lint, got {mode!r}")
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
    """Failed testcases in this run's report (deploy-gate removes a stale one before it starts)."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return 0
    return sum(1 for case in root.iter("testcase") if case.find("failure") is not None)


def main() -> int:
    try:
        argv = build_argv()
    except ValueError as error:
        print(annotations(Report.unfinished("action", EXIT_USAGE, str(error)))[0], file=sys.stderr)
        return EXIT_USAGE
    junit = Path(argv[argv.index("--junit") + 1])
    junit.unlink(missing_ok=True)  # deploy-gate replaces it too; this holds even if it could not start
    code = subprocess.run([sys.executable, "-m", "gate", *argv], check=False).returncode
    result = {EXIT_OK: "success", EXIT_FAILED: "failure"}.get(code, "error")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as out:
            out.write(f"result={result}\nfailed={failed_checks(junit)}\njunit-path={junit}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
