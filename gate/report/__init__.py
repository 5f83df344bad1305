"""Reporters: render a finished report in one format; they decide nothing.

`render(report, fmt)` is the one factory; every format takes the same Report.
Each format's module is imported when asked for, so `lint` in text does not
pay for XML, hashing or JSON.
"""

from __future__ import annotations

from pathlib import Path

from gate.report.base import Report

FORMATS = ("text", "json", "junit", "sarif")


def render(report: Report, fmt: str, verbose: bool = False, root: Path | None = None) -> str:
    """The report in one format; `verbose` adds passed checks to text, `root` is SARIF's %SRCROOT%."""
    if fmt == "text":
        from gate.report import text

        return text.render(report, verbose)
    if fmt == "sarif":
        from gate.report import sarif

        return sarif.render(report, root)
    if fmt == "junit":
        from gate.report import junit

        return junit.render(report)
    from gate.report import json_report

    return json_report.render(report)


__all__ = ["FORMATS", "Report", "render"]
