"""Times and durations as people read them; the one style of the CLI and the web UI.

Functions of present values only: each caller shows a missing value its own way
(the CLI `-`, the pages `–`). Standard library only, as every CLI command loads it.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC


def aware(value: dt.datetime) -> dt.datetime:
    """`value` with a time zone; one without is taken as UTC (stored times are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def plural(count: int, unit: str) -> str:
    """`1 minute`, `3 minutes`."""
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def duration(seconds: float) -> str:
    """`450ms`, `2.5s`, `42s`, `4m 05s`, `2h 03m`, `3d 4h` (a negative span reads as 0)."""
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


def elapsed(start: dt.datetime, end: dt.datetime | None, now: dt.datetime) -> float:
    """Seconds from `start` to `end`, or to `now` while there is no end yet."""
    return (aware(end or now) - aware(start)).total_seconds()


def exact(value: dt.datetime, zone: bool = True) -> str:
    """`2026-01-31 14:05:09 UTC` (without ` UTC` when `zone` is false)."""
    text = aware(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} UTC" if zone else text


def iso(value: dt.datetime) -> str:
    """`2026-01-31T14:05:09.123456Z`, for machines (`<time datetime=...>`)."""
    return aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


# (smallest span, unit): a month or more reads as the date instead.
_UNITS = ((86400 * 30, None), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def relative(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """`just now`, `12 seconds ago`, `1 minute ago`, `in 3 hours`, or `Jan 31, 2026`."""
    now = now or dt.datetime.now(UTC)
    seconds = (now - aware(value)).total_seconds()
    future = seconds < 0  # a clock ahead of ours
    seconds = abs(seconds)
    if seconds < 10:
        return "just now"
    size, unit = next((s, u) for s, u in _UNITS if seconds >= s)
    if unit is None:
        return aware(value).astimezone(UTC).strftime("%b %d, %Y")
    text = plural(int(seconds // size), unit)
    return f"in {text}" if future else f"{text} ago"
