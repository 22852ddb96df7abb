"""Turning values into short, human text (times, durations, excerpts) and tables."""

from __future__ import annotations

import datetime as dt

from rich import box
from rich.table import Table

UTC = dt.UTC
EMPTY = "-"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def exact(value: dt.datetime | None, zone: bool = True) -> str:
    """`2026-11-26 20:27:25 UTC` (without ` UTC` when `zone` is false)."""
    if value is None:
        return EMPTY
    text = _aware(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} UTC" if zone else text


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`just now`, `5 seconds ago`, `1 minute ago`, `3 days ago`, …"""
    if value is None:
        return EMPTY
    now = now or dt.datetime.now(UTC)
    seconds = int((now - _aware(value)).total_seconds())
    if seconds < 0:  # a clock ahead of ours
        return "in the future"
    if seconds < 5:
        return "just now"
    steps = ((60, "second", 1), (3600, "minute", 60), (86400, "hour", 3600), (None, "day", 86400))
    for bound, unit, size in steps:
        if bound is None or seconds < bound:
            return f"{_plural(seconds // size, unit)} ago"
    raise AssertionError("unreachable")


def when(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """Relative and exact: `3 minutes ago (2026-11-26 20:27:25 UTC)`."""
    if value is None:
        return EMPTY
    return f"{relative(value, now)} ({exact(value)})"


def when_cell(value: dt.datetime | None, wide: bool = True) -> str:
    """Relative over exact for a column headed `(UTC)`; only relative when narrow."""
    if value is None:
        return EMPTY
    if not wide:
        return relative(value)
    return f"{relative(value)}\n{exact(value, zone=False)}"


def duration(seconds: float | None) -> str:
    """`0.25s`, `42.0s`, `3m 04s`, `2h 05m`."""
    if seconds is None:
        return EMPTY
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 1 else f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def run_duration(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime | None = None
) -> str:
    """How long a run took, or has been running (`12.0s (running)`)."""
    if start is None:
        return EMPTY
    if end is None:
        now = now or dt.datetime.now(UTC)
        return f"{duration((now - _aware(start)).total_seconds())} (running)"
    return duration(max((_aware(end) - _aware(start)).total_seconds(), 0.0))


def excerpt(text: str | None, width: int = 48) -> str:
    """The first non-blank line of `text`, cut to `width` characters."""
    if not text:
        return ""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    more = line != text.strip()
    if len(line) > width:
        return line[: width - 1] + "…"
    return line + (" …" if more else "")


#: Below this many columns, tables leave out the exact times and the descriptions.
WIDE = 100


def make_table(title: str) -> Table:
    """The look of every listing: a title, a ruled header, no grid."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
