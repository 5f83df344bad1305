"""Where reports go: every output path is checked before any work, and a report file never destroys what it names.

A report file (`--junit`, `--metrics-file`) is written to a temporary file
beside its target and renamed over it, so a reader never sees half a file. A
rename replaces whatever the path names: an input manifest, gate.yaml, a
device (`/dev/null` as root), a FIFO. So a report path must name a regular
file or nothing; a symlink is followed (the link stays, its target is
replaced); a path that is an input, or a manifest-named file inside an input
directory (the next run would read it), is refused. The step summary is
appended to, never replaced: it may also be a character device (`/dev/null`),
never a FIFO, which would block the run until someone reads it.

A path refused before any work is exit 2, as any wrong argument; a write that
fails once the run has its verdict (disk full, I/O error, stdout closed) is
exit 3: the verdict could not be delivered.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from gate.errors import OutputError, UsageError
from gate.manifests import MANIFEST_SUFFIXES, STDIN

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _stat(path: str | Path) -> os.stat_result | None:
    """The status of what path names, symlinks followed; None when nothing is there (or it cannot be asked)."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _overwritten_input(target: Path, status: os.stat_result | None, inputs: Iterable[str]) -> str | None:
    """Why writing target would harm an input: it is one, or a manifest-named file in an input directory."""
    for given in inputs:
        known = _stat(given) if given and given != STDIN else None
        if known is None:
            continue
        if status is not None and (known.st_dev, known.st_ino) == (status.st_dev, status.st_ino):
            return f"is the input {given}; writing the report would replace it"
        if stat.S_ISDIR(known.st_mode) and target.suffix in MANIFEST_SUFFIXES \
                and target.is_relative_to(os.path.realpath(given)):
            return f"is a manifest file name inside the input directory {given}, where a run reads it"
    return None


def _probe(directory: Path) -> None:
    """Create and remove a file in directory: the only test of writability root, /proc and read-only mounts obey."""
    probe = _temporary(directory, "probe")
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    probe.unlink()


def _temporary(directory: Path, name: str) -> Path:
    return directory / f".deploy-gate-{name}.{secrets.token_hex(8)}.tmp"


def check_output(path: str, what: str, inputs: Iterable[str], make_parent: bool, appended: bool = False) -> None:
    """Refuse, before any work, a path the run could not write or must not replace (see the module doc)."""
    target = Path(os.path.realpath(path))
    status = _stat(target)
    via = " (through a symlink)" if os.path.islink(path) else ""
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise UsageError(f"{what} {path}: is a directory; give a file path")
    if status is not None and not stat.S_ISREG(status.st_mode) \
            and not (appended and stat.S_ISCHR(status.st_mode)):
        raise UsageError(f"{what} {path}: is {_kind(status.st_mode)}{via}, not a regular file; give a file path")
    if (harm := _overwritten_input(target, status, inputs)) is not None:
        raise UsageError(f"{what} {path}: {harm}; give another path")
    parent = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("/"))
    if parent != target.parent and not make_parent:
        raise UsageError(f"{what} {path}: directory {Path(path).parent} does not exist")
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is not a directory")
    if status is not None and appended:
        if not os.access(target, os.W_OK):
            raise UsageError(f"{what} {path}: not writable")
        return
    try:
        _probe(parent)
    except OSError as error:
        raise UsageError(f"{what} {path}: cannot create a file in {parent}: {error.strerror or error}") from None


def check_distinct(outputs: Iterable[tuple[str, str]]) -> None:
    """Two outputs naming one file would each overwrite the other's report."""
    seen: dict[tuple[int, int] | str, str] = {}
    for path, what in outputs:
        status = _stat(path)
        identity: tuple[int, int] | str = (status.st_dev, status.st_ino) if status else os.path.realpath(path)
        if identity in seen:
            raise UsageError(f"{what} {path}: is also {seen[identity]}; give each report its own file")
        seen[identity] = what


def remove_stale(path: str) -> None:
    """The last run's report, so a run killed before it writes leaves none; only a regular file, never the link."""
    target = Path(os.path.realpath(path))
    status = _stat(target)
    if status is not None and stat.S_ISREG(status.st_mode):
        target.unlink(missing_ok=True)


def replace_file(path: str, data: bytes, make_parent: bool = False) -> None:
    """Write data to a temporary file beside path's target, then rename it over a regular file or nothing.

    The mode is 0666 less the umask, as `open` gives, so a textfile collector
    running as another user can still read it.
    """
    target = Path(os.path.realpath(path))
    if make_parent:
        target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(target.parent, target.name)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        status = _stat(target)
        if status is not None and not stat.S_ISREG(status.st_mode):  # it changed since check_output
            raise OSError(0, f"it is now {_kind(status.st_mode)}, left as it is")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def append_text(path: str, text: str) -> None:
    """Append to a regular file or a character device; a FIFO is refused without waiting for a reader."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    try:
        mode = os.fstat(descriptor).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise OSError(0, f"it is {_kind(mode)}, not a regular file")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "w", encoding="utf-8", errors="surrogateescape") as file:
        file.write(text)


def write_stdout(text: str) -> None:
    """text on stdout, flushed now (click.echo flushes), so a full disk or a closed pipe is an error here, not a
    traceback at exit. After a failure stdout points at /dev/null: what is still buffered cannot fail at exit."""
    try:
        click.echo(text, nl=False)
    except OSError as error:
        with open(os.devnull, "wb") as null, contextlib.suppress(OSError, ValueError):  # no descriptor under tests
            os.dup2(null.fileno(), sys.stdout.fileno())
        raise OutputError(f"cannot write stdout: {error.strerror or error}") from None


def cannot_write(what: str, path: str, error: OSError) -> OutputError:
    return OutputError(f"cannot write {what} {path}: {error.strerror or error}")
