"""The command line in process, as the tests run it."""

from __future__ import annotations

from click.testing import CliRunner

from gate.cli import main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr
