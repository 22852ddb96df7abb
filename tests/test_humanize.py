"""The one wording of times and durations that the CLI and the web UI share."""

from __future__ import annotations

import datetime as dt

import pytest

from runfolio import humanize
from runfolio.cli import _format
from runfolio.server.ui import fmt

NOW = dt.datetime(2026, 1, 31, 14, 5, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3.0, "0ms"),
        (0.0, "0ms"),
        (0.25, "250ms"),
        (0.9994, "999ms"),
        (1.0, "1.0s"),
        (2.5, "2.5s"),
        (12.3, "12s"),
        (59.9, "60s"),
        (60.0, "1m 00s"),
        (184.0, "3m 04s"),
        (3600.0, "1h 00m"),
        (2 * 3600 + 5 * 60 + 59, "2h 05m"),
        (86400.0 * 3 + 3600 * 4 + 59, "3d 4h"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert humanize.duration(seconds) == text


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (dt.timedelta(seconds=0), "just now"),
        (dt.timedelta(seconds=9.9), "just now"),
        (dt.timedelta(seconds=10), "10 seconds ago"),
        (dt.timedelta(seconds=61), "1 minute ago"),
        (dt.timedelta(hours=5, minutes=59), "5 hours ago"),
        (dt.timedelta(days=1), "1 day ago"),
        (dt.timedelta(days=29), "29 days ago"),
        (dt.timedelta(days=30), "Jan 01, 2026"),
        (dt.timedelta(minutes=-3), "in 3 minutes"),  # a clock ahead of ours
    ],
)
def test_relative(ago: dt.timedelta, text: str) -> None:
    assert humanize.relative(NOW - ago, NOW) == text


def test_times_without_a_zone_are_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert humanize.exact(naive) == humanize.exact(NOW) == "2026-01-31 14:05:09 UTC"
    assert humanize.exact(NOW, zone=False) == "2026-01-31 14:05:09"
    assert humanize.iso(naive) == "2026-01-31T14:05:09Z"
    assert humanize.relative(naive - dt.timedelta(minutes=2), NOW) == "2 minutes ago"
    assert humanize.elapsed(naive, None, NOW + dt.timedelta(seconds=90)) == 90.0


def test_other_zones_read_as_utc() -> None:
    plus_two = NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert humanize.exact(plus_two) == "2026-01-31 14:05:09 UTC"
    assert humanize.iso(plus_two) == "2026-01-31T14:05:09Z"


def test_cli_and_pages_say_the_same_and_differ_only_for_missing_values() -> None:
    start, end = NOW - dt.timedelta(seconds=0.45), NOW
    assert _format.run_duration(start, end) == fmt.duration(fmt.run_seconds(start, end, NOW))
    assert _format.run_duration(start, None, NOW) == "450ms (running)"
    assert _format.relative(start, NOW) == fmt.relative(start, NOW) == "just now"
    assert _format.exact(end) == fmt.exact(end)
    assert (_format.exact(None), _format.run_duration(None, None)) == ("-", "-")
    assert (fmt.relative(None), fmt.duration(None), fmt.exact(None)) == ("–", "–", "")
