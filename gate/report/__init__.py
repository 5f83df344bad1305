"""Reporters: render a finished report in one format; they decide nothing.

`render(report, fmt)` is the one factory; every format takes the same Report.
"""

from __future__ import annotations

from gate.report import json_report, junit, sarif, text
from gate.report.base import Report

FORMATS = ("text", "json", "junit", "sarif")


def render(report: Report, fmt: str, verbose: bool = False) -> str:
    if fmt == "text":
        return text.render(report, verbose)
    return {"json": json_report.render, "junit": junit.render, "sarif": sarif.render}[fmt](report)


__all__ = ["FORMATS", "Report", "render"]
