"""Run states: what entering a state does to a run's columns, and the state history.

Shared by the REST-style writes (`store.runs`) and the batched and event-driven
task-run records; `list_states` reads a run's history back, oldest first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, select

from runfolio.errors import Conflict
from runfolio.schemas.common import new_id
from runfolio.schemas.runs import (
    TERMINAL_STATES,
    State,
    StateCreate,
    StateFields,
    StateType,
    default_state_name,
)
from runfolio.store.tables import run_states

# A row of any columns (SQLAlchemy types a row by its tuple of column types).
_AnyRow = Row[*tuple[Any, ...]]

# Ids looked up per `IN (...)` query: far below every database's limit on parameters.
IN_CHUNK = 500

# A run's columns by name: a row read (its mapping) or the values about to be written.
RunColumns = Mapping[str, Any] | RowMapping


def state_type_of(m: RunColumns) -> StateType | None:
    return StateType(m["state_type"]) if m["state_type"] is not None else None


def state_from_row(m: RunColumns) -> State | None:
    if m["state_type"] is None:
        return None
    return State.model_construct(
        id=m["state_id"],
        type=StateType(m["state_type"]),
        name=m["state_name"],
        timestamp=m["state_timestamp"],
        message=m["state_message"],
        data=None,
        state_details=m["state_details"] or {},
    )


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A client's timestamp in UTC; one without an offset is taken as UTC already
    (stored times are aware, and naive and aware times cannot be compared)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def state_columns(
    current: RunColumns | None, state: StateFields, now: dt.datetime, details: dict[str, Any]
) -> tuple[dict[str, Any], uuid.UUID]:
    """Column values that follow from entering `state` (times, run count)."""
    state_id = state.id or new_id()
    timestamp = as_utc(state.timestamp) or now
    values: dict[str, Any] = {
        "state_id": state_id,
        "state_type": state.type.value,
        "state_name": state.name or default_state_name(state.type),
        "state_message": state.message,
        "state_timestamp": timestamp,
        "state_details": details,
        "updated": now,
    }
    start = current["start_time"] if current is not None else None
    if state.type is StateType.RUNNING:
        values["run_count"] = (current["run_count"] if current is not None else 0) + 1
        if start is None:
            values["start_time"] = start = timestamp
        values["end_time"] = None
    if state.type in TERMINAL_STATES:
        values["end_time"] = timestamp
        if start is not None:
            values["total_run_time"] = max((timestamp - start).total_seconds(), 0.0)
    return values, state_id


def state_row(
    workspace_id: uuid.UUID,
    state_id: uuid.UUID,
    values: dict[str, Any],
    data: Any,
    flow_run_id: uuid.UUID | None,
    task_run_id: uuid.UUID | None,
) -> dict[str, Any]:
    """One `run_states` row from the column values `state_columns` computed."""
    return {
        "id": state_id,
        "workspace_id": workspace_id,
        "flow_run_id": flow_run_id,
        "task_run_id": task_run_id,
        "type": values["state_type"],
        "name": values["state_name"],
        "message": values["state_message"],
        "timestamp": values["state_timestamp"],
        "data": data,
        "details": values["state_details"],
    }


def record_state(
    conn: Connection,
    workspace_id: uuid.UUID,
    state_id: uuid.UUID,
    values: dict[str, Any],
    state: StateCreate,
    flow_run_id: uuid.UUID | None,
    task_run_id: uuid.UUID | None,
) -> None:
    row = state_row(workspace_id, state_id, values, state.data, flow_run_id, task_run_id)
    conn.execute(run_states.insert(), row)


def _to_state(r: _AnyRow) -> State:
    return State.model_construct(
        id=r.id,
        type=StateType(r.type),
        name=r.name,
        timestamp=r.timestamp,
        message=r.message,
        data=r.data,
        state_details=r.details or {},
    )


def _in_history(
    row: _AnyRow,
    workspace_id: uuid.UUID,
    flow_run_id: uuid.UUID | None,
    task_run_id: uuid.UUID | None,
) -> bool:
    """Whether a stored state belongs to this run (a flow run's own states have no task run)."""
    if row.workspace_id != workspace_id:
        return False
    if task_run_id is not None:
        return bool(row.task_run_id == task_run_id)
    return bool(row.flow_run_id == flow_run_id and row.task_run_id is None)


def replayed_state(
    conn: Connection,
    workspace_id: uuid.UUID,
    state: StateCreate,
    *,
    flow_run_id: uuid.UUID | None = None,
    task_run_id: uuid.UUID | None = None,
) -> State | None:
    """The stored state when `state` carries an id already in this run's history (a
    replay: write nothing), None when it is new.

    Raises Conflict when the id is another run's state (state ids are unique across
    workspaces: the table's key is the id alone).
    """
    if state.id is None:
        return None
    row = conn.execute(select(run_states).where(run_states.c.id == state.id)).first()
    if row is None:
        return None
    if not _in_history(row, workspace_id, flow_run_id, task_run_id):
        raise Conflict(f"State id {state.id} is already used by another run.")
    return _to_state(row)


def replayed_task_run_states(
    conn: Connection, workspace_id: uuid.UUID, states: list[tuple[uuid.UUID, StateFields]]
) -> set[uuid.UUID]:
    """The ids among (task run id, state) pairs already in their run's history (replays);
    Conflict when one is another run's state."""
    ids = [state.id for _, state in states if state.id is not None]
    stored: dict[uuid.UUID, _AnyRow] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        query = select(
            run_states.c.id,
            run_states.c.workspace_id,
            run_states.c.flow_run_id,
            run_states.c.task_run_id,
        ).where(run_states.c.id.in_(chunk))
        stored.update((row.id, row) for row in conn.execute(query))
    replayed: set[uuid.UUID] = set()
    for run_id, state in states:
        row = stored.get(state.id) if state.id is not None else None
        if row is None:
            continue
        if not _in_history(row, workspace_id, None, run_id):
            raise Conflict(f"State id {state.id} is already used by another run.")
        replayed.add(row.id)
    return replayed


def list_states(
    conn: Connection,
    workspace_id: uuid.UUID,
    *,
    flow_run_id: uuid.UUID | None = None,
    task_run_id: uuid.UUID | None = None,
) -> list[State]:
    stmt = select(run_states).where(run_states.c.workspace_id == workspace_id)
    if flow_run_id is not None:
        stmt = stmt.where(
            run_states.c.flow_run_id == flow_run_id, run_states.c.task_run_id.is_(None)
        )
    if task_run_id is not None:
        stmt = stmt.where(run_states.c.task_run_id == task_run_id)
    stmt = stmt.order_by(run_states.c.timestamp, run_states.c.id)
    return [_to_state(r) for r in conn.execute(stmt)]
