"""Where something was written in the input: a file and a line.

A location travels as this value from the loader to the reporters, which alone
render it ("file:line" in text, a region in SARIF, an annotation in GitHub).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def known(location: Location | None) -> tuple[Location, ...]:
    """The location as a finding's locations: one when the object came from a manifest, none when it is live."""
    return (location,) if location is not None else ()
