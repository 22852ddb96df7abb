"""How times, durations and states read on the pages (used by data, graph and templates)."""

from __future__ import annotations

import datetime as dt

from runfolio.schemas.runs import TERMINAL_STATES


def is_finished(state_type: str | None) -> bool:
    return state_type in {s.value for s in TERMINAL_STATES}


def duration(seconds: float | None) -> str:
    """`450ms`, `12.3s`, `4m 05s`, `2h 03m`, `3d 4h`."""
    if seconds is None:
        return "–"
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def run_seconds(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> float | None:
    """How long a run has taken (so far, while it runs)."""
    if start is None:
        return None
    return ((end or now) - start).total_seconds()


def exact(value: dt.datetime | None) -> str:
    """`2026-01-31 14:05:09 UTC`."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`just now`, `5 minutes ago`, `3 days ago`, or the date for older times."""
    if value is None:
        return "–"
    now = now or dt.datetime.now(dt.UTC)
    seconds = (now - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 10:
        return "just now"
    for size, unit in ((86400 * 30, None), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            if unit is None:
                return value.astimezone(dt.UTC).strftime("%b %d, %Y")
            count = int(seconds // size)
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    count = int(seconds)
    return f"in {count} seconds" if future else f"{count} seconds ago"
