"""How times, durations and states read on the pages (used by data, graph and templates).

The wording is `runfolio.humanize`'s, shared with the CLI; a missing value reads `–`
(an empty string in attributes: `exact`, `iso`).
"""

from __future__ import annotations

import datetime as dt

from runfolio import humanize
from runfolio.schemas.runs import TERMINAL_STATES

MISSING = "–"


def is_finished(state_type: str | None) -> bool:
    return state_type in {s.value for s in TERMINAL_STATES}


def duration(seconds: float | None) -> str:
    """`450ms`, `12s`, `4m 05s`, … (`runfolio.humanize`)."""
    return MISSING if seconds is None else humanize.duration(seconds)


def run_seconds(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> float | None:
    """How long a run has taken (so far, while it runs)."""
    return None if start is None else humanize.elapsed(start, end, now)


def exact(value: dt.datetime | None) -> str:
    """`2026-01-31 14:05:09 UTC`."""
    return "" if value is None else humanize.exact(value)


def iso(value: dt.datetime | None) -> str:
    return "" if value is None else humanize.iso(value)


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`just now`, `5 minutes ago`, `3 days ago`, or the date for older times."""
    return MISSING if value is None else humanize.relative(value, now)
