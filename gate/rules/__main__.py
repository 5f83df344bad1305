"""`python -m gate.rules --markdown` prints the lint rule table; `--write docs/lint.md` regenerates the rule
table and the rule examples there, from the catalog and the rules' docstrings."""

from __future__ import annotations

import sys
from pathlib import Path

from gate.rules import markdown_table, regenerate

USAGE = "usage: python -m gate.rules --markdown | --write docs/lint.md"

match sys.argv[1:]:
    case ["--markdown"]:
        sys.stdout.write(markdown_table())
    case ["--write", page]:
        try:
            Path(page).write_text(regenerate(Path(page).read_text()))
        except (OSError, ValueError) as why:
            sys.exit(f"{page}: {why}")
    case _:
        sys.exit(USAGE)
