"""A clock the tests move by hand: Verification(clock=...) reads it for deadlines, outages and grace windows."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that pass only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
