"""`python -m gate.rules --markdown`: print the lint rule table (docs/lint.md) from the catalog."""

from __future__ import annotations

import sys

from gate.rules import markdown_table

if sys.argv[1:] != ["--markdown"]:
    sys.exit("usage: python -m gate.rules --markdown")
sys.stdout.write(markdown_table())
