"""The run graph: task runs as bars on a time axis, laid out on the server.

Positions are percentages of the axis, so the template and live.js only
apply numbers. The axis runs from the run's start (or its first task's) to its
end, or to now while it runs.
"""

from __future__ import annotations

import datetime as dt
import uuid

from runfolio.server.ui import fmt
from runfolio.server.ui.models import GraphBar, GraphTick, RunGraph
from runfolio.server.ui.render import percent, progress_value
from runfolio.server.ui.stored import value_of
from runfolio.store.views import GraphTask, ProgressValue, RunSummary

MIN_BAR_WIDTH = 0.8  # percent: a task of a few milliseconds stays visible
_STEPS = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    10800, 21600, 43200, 86400, 172800, 604800,
)  # fmt: skip
MAX_TICKS = 6


def _axis(
    run: RunSummary, tasks: list[GraphTask], now: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None]:
    starts = [t.start_time for t in tasks if t.start_time] + [run.start_time]
    known = [s for s in starts if s is not None]
    if not known:
        return None, None
    start = min(known)
    ends = [t.end_time for t in tasks if t.end_time]
    if fmt.is_finished(run.state_type):
        ends.append(run.end_time or start)
    else:
        ends.append(now)
    end = max(ends)
    if end <= start:
        end = start + dt.timedelta(seconds=1)
    return start, end


def _tick_label(seconds: float, step: float) -> str:
    if seconds == 0:
        return "0s"
    if step < 1:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m" if secs == 0 else f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h" if minutes == 0 else f"{hours}h {minutes:02d}m"


def _ticks(span: float) -> list[GraphTick]:
    step = next((s for s in _STEPS if span / s <= MAX_TICKS), _STEPS[-1])
    ticks: list[GraphTick] = []
    at = 0.0
    while at <= span + 1e-9:
        ticks.append(GraphTick(left=round(at / span * 100, 3), label=_tick_label(at, step)))
        at += step
    return ticks


def _bar(
    task: GraphTask,
    start: dt.datetime | None,
    span: float,
    progress: ProgressValue | None,
    now: dt.datetime,
) -> GraphBar:
    left, width = 0.0, 0.0
    if start is not None and task.start_time is not None:
        end = task.end_time or now
        left = (task.start_time - start).total_seconds() / span * 100
        width = max((end - task.start_time).total_seconds() / span * 100, MIN_BAR_WIDTH)
        left = min(max(left, 0.0), 100.0 - MIN_BAR_WIDTH)
        width = min(width, 100.0 - left)
    value = progress_value(value_of(progress.value_text)) if progress else None
    # Every field is set from checked values: validating hundreds of bars per poll buys nothing.
    return GraphBar.model_construct(
        task_run_id=task.id,
        name=task.name,
        state_type=task.state_type,
        state_name=task.state_name,
        started=task.start_time is not None,
        left=round(left, 3),
        width=round(width, 3),
        duration=fmt.duration(fmt.run_seconds(task.start_time, task.end_time, now)),
        progress=value,
        progress_label=percent(value) if progress else None,
        progress_artifact_id=progress.artifact_id if progress else None,
    )


def build_graph(
    run: RunSummary,
    tasks: list[GraphTask],
    progress: dict[uuid.UUID, ProgressValue],
    now: dt.datetime,
) -> RunGraph:
    start, end = _axis(run, tasks, now)
    span = (end - start).total_seconds() if start and end else 1.0
    return RunGraph(
        start=start,
        end=end,
        ticks=_ticks(span) if start else [],
        bars=[_bar(t, start, span, progress.get(t.id), now) for t in tasks],
    )
