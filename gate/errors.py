"""The exception family, every exit code, and the one funnel that maps what stopped a run to its code.

Exit codes: 0 every check passed, 1 a check failed, 2 usage/config/manifest
error, 3 could not verify (cluster unreachable, authentication, RBAC), 130
interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Self

from gate.escape import scrubbed, visible
from gate.location import Location

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNVERIFIABLE = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class GateError(Exception):
    """An error the user can fix; its message is the whole explanation, on one line.

    Messages quote input (names, values, file names): control characters in
    them are shown escaped, so a message is one line whatever it quotes, and
    credentials are taken out, so no message carries one into a log.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str = "", location: Location | None = None) -> None:
        super().__init__(visible(scrubbed(message)))
        self.location = location  # the input's file:line, when known: reports place the error there

    @classmethod
    def at(cls, where: Location | str, message: str) -> Self:
        """The error at `where` (a location, or a file alone): the message starts with it, the location is it."""
        return cls(f"{where}: {message}", where if isinstance(where, Location) else None)


class UsageError(GateError):
    """The command line asks for something impossible (no input, conflicting flags)."""


class ManifestError(GateError):
    """A manifest cannot be read or is not a valid Kubernetes object (file:line in the message)."""


class ConfigError(GateError):
    """gate.yaml has a typo, a wrong type or a value out of range (file:line and field in the message)."""


class ClusterError(GateError):
    """The cluster could not be asked: unreachable, authentication failed, or an API error."""

    exit_code = EXIT_UNVERIFIABLE


class OutputError(GateError):
    """A report could not be written after the run's work: the verdict did not reach its reader."""

    exit_code = EXIT_UNVERIFIABLE


class PermissionDenied(ClusterError):
    """RBAC forbids a request deploy-gate needs; the message names verb, resource and namespace."""

    def __init__(self, verb: str, resource: str, namespace: str | None, detail: str = "") -> None:
        self.verb, self.resource, self.namespace = verb, resource, namespace
        where = f"in namespace {namespace}" if namespace else "cluster-wide"
        message = f"forbidden: cannot {verb} {resource} {where}; grant it (see README, 'RBAC')"
        super().__init__(message + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class Ending:
    """Why a run ended without a verdict: its exit code, the reports' message, the line on stderr, the input's place."""

    exit_code: int
    message: str
    line: str
    location: Location | None = None


def ending(error: BaseException) -> Ending:
    """The one mapping of what stopped a run to its exit code and line: a GateError says its own message,
    Ctrl-C or SIGTERM is 130, anything else is a bug of ours (exit 3), its text scrubbed of credentials."""
    if isinstance(error, GateError):
        message = visible(str(error))
        return Ending(error.exit_code, message, f"deploy-gate: error: {message}", error.location)
    if isinstance(error, KeyboardInterrupt):
        return Ending(EXIT_INTERRUPTED, "interrupted", "deploy-gate: interrupted")
    message = f"internal error: {type(error).__name__}: {visible(scrubbed(str(error)))}"
    return Ending(EXIT_UNVERIFIABLE, message, f"deploy-gate: {message} (set DEPLOY_GATE_DEBUG=1 for the traceback)")


@contextlib.contextmanager
def error_handler(say: Callable[[str], None], report: Callable[[Ending], None] | None = None) -> Iterator[None]:
    """The funnel every entry point returns through (as pre-commit's): a GateError, a bug, Ctrl-C or SIGTERM is
    said on one line, `report` leaves the reports the run owes saying why, and the process exits with its code.

    An OutputError is a report that could not be written: the others already hold the verdict, so none is
    written again. A report that fails in `report` is said too; the run's own exit code stands. A SystemExit
    (the command's verdict) passes through.
    """
    try:
        yield
    except (Exception, KeyboardInterrupt) as error:
        if not isinstance(error, GateError | KeyboardInterrupt) and os.environ.get("DEPLOY_GATE_DEBUG"):
            traceback.print_exc()
        why = ending(error)
        say(why.line)
        if report is not None and not isinstance(error, OutputError):
            try:
                report(why)
            except GateError as failure:
                say(ending(failure).line)
        raise SystemExit(why.exit_code) from None


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a cancelled pipeline, an Argo CD hook deadline) unwinds like Ctrl-C: probe pods get deleted."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGINT raise KeyboardInterrupt; the caller's handlers are back after it.

    As kubectl and helm do: a step started in the background of a non-interactive shell inherits SIGINT
    ignored, and the pipeline's cancel (GitHub Actions sends SIGINT first) must still end it with a report.
    Restored on return, so a process that calls the command in-process (a test runner) keeps its own handlers.
    """
    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for number, handler in before.items():
            if handler is not None:  # None: installed outside Python; it cannot be put back from here
                signal.signal(number, handler)
