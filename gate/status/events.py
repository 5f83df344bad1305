"""Warning events as evidence: the last few, one line each.

Events only explain a verdict, so one the API server sent malformed (a `count` of
"many", a time of "yesterday") is left out and counted, never a reason to fail.
"""

from __future__ import annotations

from typing import Any

from gate.schema import MalformedObject, validate_live


def warning_lines(events: list[Any], limit: int = 3) -> list[str]:
    """'Reason: message (xN)' for the last `limit` well-formed events, oldest first; then how many were malformed."""
    kept, malformed = [], []
    for event in events:
        try:
            validate_live(event, "Event")
        except MalformedObject as error:
            malformed.append(str(error))
            continue
        kept.append(event)
    kept.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    lines = [f"{e.get('reason')}: {(e.get('message') or '').strip()}" +
             (f" (x{e['count']})" if (e.get("count") or 1) > 1 else "") for e in kept[-limit:]]
    if malformed:
        lines.append(f"({len(malformed)} malformed Event(s) left out; the first: {malformed[0]})")
    return lines
