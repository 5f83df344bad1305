"""visible(): one line, control characters shown, printable text unchanged."""

from __future__ import annotations

import pytest

from gate.escape import visible


@pytest.mark.parametrize(("text", "shown"), [
    ("plain text: app=web, ✅ 日本", "plain text: app=web, ✅ 日本"),
    ("web\n::error file=x::forged", "web\\n::error file=x::forged"),
    ("\x1b[2K\rPASSED", "\\x1b[2K\\rPASSED"),
    ("\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", "\\x1b]8;;https://evil\\x1b\\link\\x1b]8;;\\x1b\\"),
    ("tab\there\x00\x7f\x85", "tab\\there\\x00\\x7f\\x85"),
    ("bidi\u202eevil\u2028line", "bidi\\u202eevil\\u2028line"),
])
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert visible(shown) == shown and "\n" not in shown
