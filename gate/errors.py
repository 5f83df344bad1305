"""The exception family and the one place that maps it to exit codes.

Exit codes: 0 every check passed, 1 a check failed, 2 usage/config/manifest
error, 3 could not verify (cluster unreachable, authentication, RBAC).
"""

from __future__ import annotations

from typing import Self

from gate.escape import scrubbed, visible
from gate.location import Location

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNVERIFIABLE = 3


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
