"""Render input-derived text on one line with its control characters shown.

Label values, names and file names come from manifests someone else wrote. Printed
raw, a newline starts a new log line (a forged `::error::` workflow command in
GitHub Actions) and an ESC byte starts an ANSI/OSC sequence (erase the line, a
hidden link). `visible` is the one escaping every text medium builds on.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _shown(char: str) -> bool:
    """Printable, not a control/format/separator character (C0, DEL, C1, bidi overrides, U+2028)."""
    return unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def visible(text: str) -> str:
    """text on one line, its control characters escaped; printable text is returned unchanged.

    ESC becomes the four characters `\\x1b`, so an ANSI or OSC sequence is shown
    instead of acting on the terminal, and a newline cannot start a new log line.
    The result has no control character, so visible(visible(t)) == visible(t).
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(char if _shown(char) else _escape(char) for char in text)
