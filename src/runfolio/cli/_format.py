"""The CLI's text: times and durations in the shared style (`runfolio.humanize`),
with `-` for a missing value; excerpts and tables."""

from __future__ import annotations

import datetime as dt

from rich import box
from rich.table import Table

from runfolio import humanize

UTC = dt.UTC
EMPTY = "-"


def exact(value: dt.datetime | None, zone: bool = True) -> str:
    """`2026-11-26 20:27:25 UTC` (without ` UTC` when `zone` is false)."""
    return EMPTY if value is None else humanize.exact(value, zone)


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`just now`, `12 seconds ago`, `1 minute ago`, `3 days ago`, …"""
    return EMPTY if value is None else humanize.relative(value, now)


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


def run_duration(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime | None = None
) -> str:
    """How long a run took, or has been running (`12s (running)`)."""
    if start is None:
        return EMPTY
    taken = humanize.duration(humanize.elapsed(start, end, now or dt.datetime.now(UTC)))
    return taken if end is not None else f"{taken} (running)"


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
