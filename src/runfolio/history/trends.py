"""Numbers across a key's versions, as series: what a trend chart draws.

Each version may give numbers from
- its data when that is a number (progress, or any type holding one): series `progress`
  for progress artifacts, `value` otherwise;
- a table: the numeric cells of its last row (a one-row metrics table gives one
  series per column); a table with no rows gives none;
- its metadata: every value that spells a finite number, as `metadata.<name>`.
A version without a number for a series is a gap in it, never a zero.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from runfolio.history.values import as_number, as_table

Source = Literal["progress", "value", "table", "metadata"]
MAX_SERIES = 12  # the first ones found, in order; a chart of more reads as noise


@dataclass(frozen=True, slots=True)
class VersionData:
    id: uuid.UUID
    number: int
    created: dt.datetime
    type: str | None
    data: Any
    metadata: dict[str, Any] | None


class TrendPoint(BaseModel):
    number: int  # the version's place in the timeline
    id: uuid.UUID
    created: dt.datetime
    value: float


class TrendSeries(BaseModel):
    name: str
    source: Source
    points: list[TrendPoint]


def _numbers(version: VersionData) -> Iterable[tuple[str, Source, float]]:
    data = version.data
    if version.type == "table":
        table = as_table(data)
        if table is not None and table.rows:
            for name, cell in zip(table.columns, table.rows[-1], strict=True):
                if isinstance(cell, int | float) and (number := as_number(cell)) is not None:
                    yield name, "table", number
    elif (number := as_number(data)) is not None and not isinstance(data, str):
        yield (
            ("progress", "progress", number)
            if version.type == "progress"
            else ("value", "value", number)
        )
    for name, value in (version.metadata or {}).items():
        if (number := as_number(value)) is not None:
            yield f"metadata.{name}", "metadata", number


def trend_series(versions: Iterable[VersionData]) -> list[TrendSeries]:
    """The series found in `versions` (oldest first), each with a point per version that
    has its number."""
    found: dict[tuple[str, Source], TrendSeries] = {}
    for version in versions:
        for name, source, value in _numbers(version):
            series = found.get((name, source))
            if series is None:
                if len(found) >= MAX_SERIES:
                    continue
                series = found[name, source] = TrendSeries(name=name, source=source, points=[])
            point = TrendPoint(
                number=version.number, id=version.id, created=version.created, value=value
            )
            series.points.append(point)
    return list(found.values())
