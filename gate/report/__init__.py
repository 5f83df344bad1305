"""Reporters: render a finished report in one format; they decide nothing.

`FORMATS` is the registry: each format's renderer and its escaping rule for
GitHub's workflow commands. `render(report, fmt)` is the one factory; every
format takes the same Report. Each format's module is imported when asked for,
so `lint` in text does not pay for XML, hashing or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gate.report.base import Report
from gate.report.github import TEXT_INERT, Inert


@dataclass(frozen=True)
class Renderer:
    """One output format: how it renders a report (`verbose` and SARIF's `root` where it uses them), and how its
    text writes `##[` and a line-opening `:` so no line of it is a workflow command under GitHub Actions."""

    render: Callable[[Report, bool, Path | None], str]
    inert: Inert


def _text(report: Report, verbose: bool, _root: Path | None) -> str:
    from gate.report import text

    return text.render(report, verbose)


def _json(report: Report, _verbose: bool, _root: Path | None) -> str:
    from gate.report import json_report

    return json_report.render(report)


def _junit(report: Report, _verbose: bool, _root: Path | None) -> str:
    from gate.report import junit

    return junit.render(report)


def _sarif(report: Report, _verbose: bool, root: Path | None) -> str:
    from gate.report import sarif

    return sarif.render(report, root)


def _codequality(report: Report, _verbose: bool, root: Path | None) -> str:
    from gate.report import codequality

    return codequality.render(report, root)


# JSON never starts a line with `:` (every line opens with a quote, a bracket or a brace): only `##[` is escaped.
JSON_INERT = Inert("##\\u005b", None)
FORMATS: dict[str, Renderer] = {
    "text": Renderer(_text, TEXT_INERT),
    "json": Renderer(_json, JSON_INERT),
    "junit": Renderer(_junit, Inert("##&#91;", "&#58;")),  # XML character references
    "sarif": Renderer(_sarif, JSON_INERT),
    "codequality": Renderer(_codequality, JSON_INERT),  # GitLab Code Quality
}


def render(report: Report, fmt: str, verbose: bool = False, root: Path | None = None) -> str:
    """The report in one format; `verbose` adds passed checks to text, `root` is the repository root SARIF's and
    Code Quality's paths are relative to."""
    return FORMATS[fmt].render(report, verbose, root)


__all__ = ["FORMATS", "Renderer", "Report", "render"]
