"""Task runs reported as events rather than REST calls.

A run engine may report its task runs only through the events stream
(`prefect.task-run.<State>` events over `/events/in`). Each such event carries
the task run as it was at that moment and the state it entered;
`record_task_run_event` turns it into a `task_runs` row and a `run_states`
history entry. Events can arrive late, twice (a reconnecting client resends the
ones it had no confirmation for) or out of order, so:

- the event's id becomes the state's id: an event seen before records nothing new;
- the first event seen for a task run creates the row, whatever its state;
- an event older than the run's current state only joins the history;
- a finished run (COMPLETED, FAILED, CANCELLED, CRASHED) never goes back to a
  non-terminal state.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from runfolio.schemas.common import utcnow
from runfolio.schemas.runs import (
    TERMINAL_STATES,
    StateCreate,
    StateType,
    TaskRun,
    TaskRunCreate,
    default_state_name,
)
from runfolio.store import changes as change_feed
from runfolio.store.runs import new_task_run_row, read_task_run
from runfolio.store.states import as_utc
from runfolio.store.tables import run_states, task_runs


@dataclass(frozen=True)
class TaskRunReport:
    """What one task-run event says: the run's fields, the state it entered
    (`task_run.state`, with its timestamp) and the run's counters and times."""

    event_id: uuid.UUID
    task_run: TaskRunCreate
    run_count: int | None = None
    flow_run_run_count: int | None = None
    expected_start_time: dt.datetime | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    total_run_time: float | None = None


# A row of any columns (SQLAlchemy types a row by its tuple of column types).
_Row = Row[*tuple[Any, ...]]


def _supersedes(current: _Row, state_type: StateType, timestamp: dt.datetime) -> bool:
    """Whether a state entered at `timestamp` replaces the run's current state."""
    if current.state_type is None or current.state_timestamp is None:
        return True
    if StateType(current.state_type) in TERMINAL_STATES and state_type not in TERMINAL_STATES:
        return False
    return bool(timestamp >= current.state_timestamp)


def _state_columns(
    report: TaskRunReport, state: StateCreate, timestamp: dt.datetime, current: _Row | None
) -> dict[str, Any]:
    """The row's state, counter and time columns once `state` is its current state."""
    start = as_utc(report.start_time) or (current.start_time if current is not None else None)
    if start is None and state.type is StateType.RUNNING:
        start = timestamp
    end = as_utc(report.end_time)
    if end is None and state.type in TERMINAL_STATES:
        end = timestamp
    if state.type not in TERMINAL_STATES:
        end = None
    total = report.total_run_time
    if total is None:
        total = max((end - start).total_seconds(), 0.0) if end and start else 0.0
    values: dict[str, Any] = {
        "state_id": report.event_id,
        "state_type": state.type.value,
        "state_name": state.name or default_state_name(state.type),
        "state_message": state.message,
        "state_timestamp": timestamp,
        "state_details": _details(report, state),
        "start_time": start,
        "end_time": end,
        "total_run_time": total,
    }
    if report.run_count is not None:
        values["run_count"] = report.run_count
    if report.flow_run_run_count is not None:
        values["flow_run_run_count"] = report.flow_run_run_count
    return values


def _details(report: TaskRunReport, state: StateCreate) -> dict[str, Any]:
    details = {**state.state_details, "task_run_id": str(report.task_run.id)}
    if report.task_run.flow_run_id is not None:
        details["flow_run_id"] = str(report.task_run.flow_run_id)
    return details


def record_task_run_event(
    conn: Connection, workspace_id: uuid.UUID, report: TaskRunReport
) -> TaskRun:
    """Apply one task-run event (see the module docstring) and return the run as stored."""
    action = report.task_run
    if action.id is None or action.state is None:
        raise ValueError("a task-run report needs the run's id and the state it entered")
    run_id, state = action.id, action.state
    seen = conn.execute(select(run_states.c.id).where(run_states.c.id == report.event_id)).first()
    if seen is not None:
        return read_task_run(conn, workspace_id, run_id)

    now = utcnow()
    timestamp = as_utc(state.timestamp) or now
    current = conn.execute(
        select(
            task_runs.c.flow_run_id,
            task_runs.c.state_type,
            task_runs.c.state_timestamp,
            task_runs.c.start_time,
        ).where(task_runs.c.id == run_id, task_runs.c.workspace_id == workspace_id)
    ).first()
    if current is None:
        values = new_task_run_row(
            workspace_id, action, run_id, now, report.expected_start_time or timestamp
        )
        values.update(_state_columns(report, state, timestamp, None))
        conn.execute(task_runs.insert().values(values))
    elif _supersedes(current, state.type, timestamp):
        values = _state_columns(report, state, timestamp, current)
        if current.flow_run_id is None and action.flow_run_id is not None:
            values["flow_run_id"] = action.flow_run_id
        conn.execute(
            task_runs.update()
            .where(task_runs.c.id == run_id, task_runs.c.workspace_id == workspace_id)
            .values(updated=now, **values)
        )
    change_feed.record(
        conn, workspace_id, "task_run", "state", run_id, flow_run_id=action.flow_run_id, at=now
    )
    conn.execute(
        run_states.insert().values(
            id=report.event_id,
            workspace_id=workspace_id,
            flow_run_id=action.flow_run_id,
            task_run_id=run_id,
            type=state.type.value,
            name=state.name or default_state_name(state.type),
            message=state.message,
            timestamp=timestamp,
            data=state.data,
            details=_details(report, state),
        )
    )
    return read_task_run(conn, workspace_id, run_id)
