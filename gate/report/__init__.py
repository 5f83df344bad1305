"""Reporters: render a finished report in one format; they decide nothing.

`render(report, fmt)` is the one factory; every format takes the same Report.
"""

from __future__ import annotations

from pathlib import Path

from gate.report import json_report, junit, sarif, text
from gate.report.base import Report

FORMATS = ("text", "json", "junit", "sarif")


def render(report: Report, fmt: str, verbose: bool = False, root: Path | None = None) -> str:
    """The report in one format; `verbose` adds passed checks to text, `root` is SARIF's %SRCROOT%."""
    if fmt == "text":
        return text.render(report, verbose)
    if fmt == "sarif":
        return sarif.render(report, root)
    return {"json": json_report.render, "junit": junit.render}[fmt](report)


__all__ = ["FORMATS", "Report", "render"]
