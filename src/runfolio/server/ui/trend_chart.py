"""The trends chart of a key: its numeric series laid out as inline SVG on the server.

One small panel per series (each with its own vertical scale, so a loss near 0.1 and
a row count near 10,000 both read), versions along the horizontal axis. Points carry
a `<title>` (the browser shows it on hover) and link to their version; a version
without the series' number breaks the line, it is never drawn as zero. No script:
the page's CSP (`script-src 'self'`) has nothing to allow.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from runfolio.history.trends import TrendSeries
from runfolio.server.ui import urls

WIDTH = 640
HEIGHT = 150
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 26  # margins around the plot, in SVG units
_WHEN = "%Y-%m-%d %H:%M:%S"


class ChartPoint(BaseModel):
    x: float
    y: float
    number: int
    value: float
    title: str
    href: str


class ChartPanel(BaseModel):
    name: str
    source: str
    segments: list[str]  # polyline `points`, one per unbroken run of versions
    points: list[ChartPoint]
    y_top: str  # the labels of the scale's ends
    y_bottom: str
    last: str  # the newest value, for the panel's heading


class TrendChart(BaseModel):
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    first_number: int
    last_number: int
    versions_read: int  # how many of the newest versions the chart covers
    versions_total: int
    panels: list[ChartPanel]
    series: list[TrendSeries]


def _label(value: float) -> str:
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.6g}"


def _panel(series: TrendSeries, numbers: list[int], hrefs: dict[uuid.UUID, str]) -> ChartPanel:
    place = {n: i for i, n in enumerate(numbers)}
    first, last = numbers[0], numbers[-1]
    span_x = WIDTH - RIGHT - LEFT
    values = [p.value for p in series.points]
    low, high = min(values), max(values)
    if low == high:  # a flat line sits mid-panel
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    span_y = HEIGHT - BOTTOM - TOP

    def x_of(n: int) -> float:
        return LEFT + (span_x / 2 if last == first else (n - first) / (last - first) * span_x)

    points = [
        ChartPoint(
            x=round(x_of(p.number), 2),
            y=round(TOP + (high - p.value) / (high - low) * span_y, 2),
            number=p.number,
            value=p.value,
            title=f"{series.name} · v{p.number}: {_label(p.value)} · {p.created:{_WHEN}} UTC",
            href=hrefs[p.id],
        )
        for p in series.points
    ]
    segments: list[list[ChartPoint]] = []
    for point in points:
        # Consecutive versions join; a version between them without this number is a gap.
        if segments and place[point.number] == place[segments[-1][-1].number] + 1:
            segments[-1].append(point)
        else:
            segments.append([point])
    return ChartPanel(
        name=series.name,
        source=series.source,
        segments=[" ".join(f"{p.x},{p.y}" for p in run) for run in segments if len(run) > 1],
        points=points,
        y_top=_label(high),
        y_bottom=_label(low),
        last=_label(series.points[-1].value),
    )


def trend_chart(
    key: str, series: list[TrendSeries], numbers: list[int], versions_total: int
) -> TrendChart | None:
    """The chart of `series` over the versions `numbers` (oldest first); None when no
    series has two points (nothing to see a trend in)."""
    drawn = [s for s in series if len(s.points) >= 2]
    if not drawn or not numbers:
        return None
    # One URL per version, shared by its points in every panel.
    ids = {p.id for s in drawn for p in s.points}
    hrefs = {version: urls.artifact_key(key, version) for version in ids}
    return TrendChart(
        first_number=numbers[0],
        last_number=numbers[-1],
        versions_read=len(numbers),
        versions_total=versions_total,
        panels=[_panel(s, numbers, hrefs) for s in drawn],
        series=series,
    )
