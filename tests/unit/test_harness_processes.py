"""The test harness's own process bookkeeping: a daemon is gone only once nothing of it holds its ports."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.cluster import processes

# The main thread ends (pthread_exit) while another thread still runs: what a killed Go daemon looks like
# for a moment, its thread-group leader a zombie while the other threads exit, holding its sockets.
LEADER_GONE_FIRST = ("import ctypes, threading, time\n"
                     "threading.Thread(target=time.sleep, args=(2,)).start()\n"
                     "ctypes.CDLL(None).pthread_exit(None)\n")


def _state(pid: int) -> str | None:
    return processes._task_state(Path(f"/proc/{pid}"))  # the leader's own /proc entry reads like a task's


def test_a_zombie_leader_with_a_running_thread_is_alive_and_a_reaped_process_is_not() -> None:
    process = subprocess.Popen([sys.executable, "-c", LEADER_GONE_FIRST])
    try:
        deadline = time.monotonic() + 10
        while _state(process.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(process.pid) == "Z"
        assert processes._alive(process.pid)
    finally:
        assert process.wait(timeout=10) == 0
    assert not processes._alive(process.pid)
