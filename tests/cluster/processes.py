"""Start and stop the cluster's daemons as detached processes with pid files.

The daemons outlive the `up` command (a new session each, like a service
manager would run them); `down` finds them again through their pid files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cluster import config


def _pid_file(name: str) -> Path:
    return config.PID_DIR / f"{name}.pid"


def log_file(name: str) -> Path:
    return config.LOG_DIR / f"{name}.log"


def _alive(pid: int) -> bool:
    # A zombie is not running; it only waits for its parent to reap it. Every thread counts: after SIGKILL the
    # leader of a Go daemon is a zombie while its other threads still exit, holding its files and ports.
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return False
    return any(_task_state(task) not in ("Z", "X", None) for task in tasks)


def _task_state(task: Path) -> str | None:
    """One thread's state letter (R, S, Z, ...); None once it is gone."""
    try:
        return (task / "stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def running_pid(name: str) -> int | None:
    """The pid of the named daemon when it runs, else None."""
    try:
        pid = int(_pid_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def start(name: str, argv: list[str | Path], env: dict[str, str] | None = None) -> int:
    """Start a daemon unless it already runs; its output goes to the log directory."""
    if (pid := running_pid(name)) is not None:
        return pid
    config.PID_DIR.mkdir(parents=True, exist_ok=True)
    config.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with log_file(name).open("ab") as log:
        process = subprocess.Popen(
            [str(arg) for arg in argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, **(env or {})},
        )
    _pid_file(name).write_text(str(process.pid))
    return process.pid


def stop(name: str, grace_seconds: float = 10) -> None:
    """SIGTERM, then SIGKILL after the grace period; forget the pid file."""
    if (pid := running_pid(name)) is not None:
        terminate(pid, grace_seconds)
    _pid_file(name).unlink(missing_ok=True)


def terminate(pid: int, grace_seconds: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def tail(name: str, lines: int = 20) -> str:
    try:
        return "\n".join(log_file(name).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
