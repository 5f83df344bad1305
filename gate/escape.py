"""Render input-derived text on one line with its control characters shown; keep credentials out of it.

Label values, names and file names come from manifests someone else wrote. Printed
raw, a newline starts a new log line (a forged `::error::` workflow command in
GitHub Actions) and an ESC byte starts an ANSI/OSC sequence (erase the line, a
hidden link). `visible` is the one escaping every text medium builds on.
"""

from __future__ import annotations

import re
import shlex
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


_OPTION = re.compile(r"(--?[A-Za-z][-A-Za-z]*=)(.*)", re.S)


def shell_command(*words: str) -> str:
    """One command line that a POSIX shell reads back as exactly `words`: each quoted as it needs.

    A printed fix is pasted into a shell, and its values come from manifests someone else
    wrote: `x'; touch f; echo '` must stay one argument, not end the quote and run a command.
    `--flag=value` keeps its familiar shape (`-p='[...]'`): the shell joins the two parts.
    """
    return " ".join(_shell_word(word) for word in words)


def _shell_word(word: str) -> str:
    option = _OPTION.fullmatch(word)
    return option[1] + shlex.quote(option[2]) if option else shlex.quote(word)


# Credentials the run holds (a token, a password, key data): never printed, whatever message quotes them.
_SECRETS: set[str] = set()
_AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s'\"\\]+")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#'\"]*)\?[^\s#'\"]*")
# `token=…` (a query or an environment) and `"token": "…"` (JSON); a bare `token: …` is also how a
# message names a field, so that form is left alone.
_ASSIGNED = re.compile(r"(?i)((?:access_|id_|refresh_)?token|password|passwd|secret|api[_-]?key)"
                       r"(=|[\"']\s*:\s*[\"'])[^\s\"',;&]+")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
REDACTED = "<redacted>"


def conceal(secret: str) -> None:
    """Remember a credential this run holds, so that no message ever shows it (as a CI log's masks do)."""
    secret = secret.strip()
    if len(secret) >= 4:  # shorter ones would redact ordinary words
        _SECRETS.add(secret)


def scrubbed(text: str) -> str:
    """text without credentials: the ones the run holds, Authorization values, `token=`/`password:`
    values, URL userinfo and query strings (`?access_token=`), and private keys.

    Error text quotes what libraries say (`Invalid header value b'Bearer …'`), servers and
    plugins say, and URLs from a kubeconfig: any of them may carry a credential into a CI log.
    """
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PRIVATE_KEY.sub(REDACTED, text)
    text = _AUTHORIZATION.sub(rf"\1\2{REDACTED}", text)
    text = _ASSIGNED.sub(rf"\1\2{REDACTED}", text)
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    return _QUERY.sub(rf"\1?{REDACTED}", text)
