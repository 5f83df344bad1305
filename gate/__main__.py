"""`python -m gate` is the `deploy-gate` command."""

from gate.cli import main

main()
