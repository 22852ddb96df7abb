"""Flows, flow runs, task runs and their state history.

State changes are always accepted (runfolio does not orchestrate): the run's
current state, start/end times and run count follow the new state, and each
state is kept in `run_states`, so retries show every attempt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Row, Table, Update, bindparam, select
from sqlalchemy.exc import IntegrityError

from runfolio.errors import Conflict, NotFound
from runfolio.names import run_name
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.filters import FlowFilter, FlowRunFilter, TaskRunFilter
from runfolio.schemas.runs import (
    TERMINAL_STATES,
    Flow,
    FlowCreate,
    FlowRun,
    FlowRunCreate,
    State,
    StateCreate,
    StateType,
    TaskRun,
    TaskRunCreate,
    TaskRunFields,
    TaskRunRecordFields,
)
from runfolio.schemas.sorting import FlowRunSort, TaskRunSort
from runfolio.store import changes as change_feed
from runfolio.store import filtering
from runfolio.store.prepared import Prepared
from runfolio.store.results import record_result_artifact
from runfolio.store.states import (
    RunColumns,
    record_state,
    replayed_state,
    replayed_task_run_states,
    state_columns,
    state_from_row,
    state_type_of,
)
from runfolio.store.states import (
    list_states as list_states,  # a run's state history is read through this module too
)
from runfolio.store.tables import columns_in, flow_runs, flows, run_states, task_runs
from runfolio.store.types import JSONText, JSONTextAsIs, dumps

# -- flows --------------------------------------------------------------------------


def _to_flow(row: Row[Any]) -> Flow:
    m = row._mapping
    return Flow.model_construct(
        id=m["id"],
        created=m["created"],
        updated=m["updated"],
        name=m["name"],
        tags=m["tags"],
        labels=m["labels"] or {},
    )


def create_flow(conn: Connection, workspace_id: uuid.UUID, action: FlowCreate) -> tuple[Flow, bool]:
    """The flow named `action.name`, created if new. Returns (flow, created)."""
    query = select(flows).where(flows.c.workspace_id == workspace_id, flows.c.name == action.name)
    row = conn.execute(query).first()
    if row is not None:
        return _to_flow(row), False
    now = utcnow()
    values = {
        "id": new_id(),
        "workspace_id": workspace_id,
        "name": action.name,
        "tags": action.tags,
        "labels": action.labels,
        "created": now,
        "updated": now,
    }
    try:
        with conn.begin_nested():
            conn.execute(flows.insert().values(values))
    except IntegrityError:
        return _to_flow(conn.execute(query).one()), False
    return _to_flow(conn.execute(query).one()), True


def read_flow(conn: Connection, workspace_id: uuid.UUID, flow_id: uuid.UUID) -> Flow:
    row = conn.execute(
        select(flows).where(flows.c.id == flow_id, flows.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound("Flow not found.")
    return _to_flow(row)


def filter_flows(
    conn: Connection, workspace_id: uuid.UUID, crit: FlowFilter | None, limit: int, offset: int
) -> list[Flow]:
    stmt = select(flows).where(flows.c.workspace_id == workspace_id)
    clause = filtering.flow_clauses(crit)
    if clause is not None:
        stmt = stmt.where(clause)
    stmt = stmt.order_by(flows.c.name).limit(limit).offset(offset)
    return [_to_flow(row) for row in conn.execute(stmt)]


# -- flow runs ----------------------------------------------------------------------


# The columns a run model shows under their own name; the rest of its fields keep
# their defaults, and the converters below adjust a few of these.
_FLOW_RUN_FIELDS = [c.name for c in columns_in(flow_runs, FlowRun.model_fields)]
_TASK_RUN_FIELDS = [c.name for c in columns_in(task_runs, TaskRun.model_fields)]


def _to_flow_run(row: Row[Any]) -> FlowRun:
    m = row._mapping
    fields = {k: m[k] for k in _FLOW_RUN_FIELDS}
    fields.update(
        state_type=state_type_of(m),
        context=m["context"] or {},
        labels=m["labels"] or {},
        empirical_policy=m["empirical_policy"] or {},
        state=state_from_row(m),
        # The column is the name runfolio's UI shows; Prefect's `created_by` is an
        # object (id, type, display_value) its client validates, and the filters
        # treat it as never recorded: the API keeps it null.
        created_by=None,
    )
    return FlowRun.model_construct(**fields)


def create_flow_run(
    conn: Connection,
    workspace_id: uuid.UUID,
    action: FlowRunCreate,
    created_by: str | None = None,
) -> FlowRun:
    return add_flow_run(conn, workspace_id, action, created_by)[0]


def add_flow_run(
    conn: Connection,
    workspace_id: uuid.UUID,
    action: FlowRunCreate,
    created_by: str | None = None,
) -> tuple[FlowRun, bool]:
    """Create a flow run. Returns (run, created): a create whose id is already this
    workspace's run of the same flow is a replay and returns the stored run (`False`);
    the id of another flow's or another workspace's run is a Conflict."""
    read_flow(conn, workspace_id, action.flow_id)
    if action.id is not None:
        existing = conn.execute(select(flow_runs).where(flow_runs.c.id == action.id)).first()
        if existing is not None:
            if existing.workspace_id != workspace_id or existing.flow_id != action.flow_id:
                # The key is the id alone: another workspace's run can only be refused.
                raise Conflict(f"Flow run id {action.id} is already used by another run.")
            return _to_flow_run(existing), False
    now = utcnow()
    run_id = action.id or new_id()
    values: dict[str, Any] = {
        "id": run_id,
        "workspace_id": workspace_id,
        "flow_id": action.flow_id,
        "name": action.name or run_name(),
        "flow_version": action.flow_version,
        "parameters": action.parameters,
        "context": action.context,
        "parent_task_run_id": action.parent_task_run_id,
        "idempotency_key": action.idempotency_key,
        "work_queue_name": action.work_queue_name,
        "deployment_id": action.deployment_id,
        "created_by": created_by,
        "tags": action.tags,
        "labels": action.labels,
        "empirical_policy": action.empirical_policy,
        "run_count": 0,
        "total_run_time": 0.0,
        "expected_start_time": now,
        "created": now,
        "updated": now,
    }
    state = action.state or StateCreate(type=StateType.PENDING)
    details = {**state.state_details, "flow_run_id": str(run_id)}
    state_values, state_id = state_columns(None, state, now, details)
    values.update(state_values)
    replayed = replayed_state(conn, workspace_id, state, flow_run_id=run_id)
    conn.execute(flow_runs.insert(), values)
    if replayed is None:
        record_state(conn, workspace_id, state_id, state_values, state, run_id, None)
    change_feed.record(
        conn, workspace_id, "flow_run", "created", run_id, flow_run_id=run_id, at=now
    )
    return read_flow_run(conn, workspace_id, run_id), True


def read_flow_run(conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID) -> FlowRun:
    row = conn.execute(
        select(flow_runs).where(flow_runs.c.id == run_id, flow_runs.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound("Flow run not found.")
    return _to_flow_run(row)


def filter_flow_runs(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: FlowRunFilter | None = None,
    flow_crit: FlowFilter | None = None,
    sort: FlowRunSort | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[FlowRun]:
    stmt = select(flow_runs).where(flow_runs.c.workspace_id == workspace_id)
    clause = filtering.flow_run_clauses(crit)
    if clause is not None:
        stmt = stmt.where(clause)
    flow_clause = filtering.flow_clauses(flow_crit)
    if flow_clause is not None:
        stmt = stmt.where(flow_runs.c.flow_id.in_(select(flows.c.id).where(flow_clause)))
    stmt = stmt.order_by(*filtering.flow_run_order(sort)).limit(limit).offset(offset)
    return [_to_flow_run(row) for row in conn.execute(stmt)]


_UPDATES: dict[str, Update] = {}


def _update_by_id(table: Table) -> Update:
    """`UPDATE table SET … WHERE id = :run_id_`, built once (the SET list comes from the params)."""
    stmt = _UPDATES.get(table.name)
    if stmt is None:
        stmt = _UPDATES[table.name] = table.update().where(table.c.id == bindparam("run_id_"))
    return stmt


def _state_reads(table: Table) -> list[Column[Any]]:
    """The columns of a run that entering a state reads (`state_columns`) or merges."""
    return [table.c.start_time, table.c.run_count, table.c.state_details]


def _set_state(
    conn: Connection,
    workspace_id: uuid.UUID,
    table: Table,
    run_id: uuid.UUID,
    state: StateCreate,
    not_found: str,
) -> tuple[State, bool]:
    """Move a run to `state`. Returns (state, written): a state whose id is already in
    the run's history is a replay, which writes nothing and returns the stored state."""
    reads = _state_reads(table)
    if table is task_runs:  # the change names the task run's flow run (its page listens)
        reads.append(task_runs.c.flow_run_id)
    current = conn.execute(
        select(*reads).where(table.c.id == run_id, table.c.workspace_id == workspace_id)
    ).first()
    if current is None:
        raise NotFound(not_found)
    if table is flow_runs:
        replayed = replayed_state(conn, workspace_id, state, flow_run_id=run_id)
    else:
        replayed = replayed_state(conn, workspace_id, state, task_run_id=run_id)
    if replayed is not None:
        return replayed, False
    now = utcnow()
    key = "flow_run_id" if table is flow_runs else "task_run_id"
    details = {**(current.state_details or {}), **state.state_details, key: str(run_id)}
    values, state_id = state_columns(current._mapping, state, now, details)
    conn.execute(_update_by_id(table), {"run_id_": run_id, **values})
    flow_run_id = run_id if table is flow_runs else None
    task_run_id = run_id if table is task_runs else None
    record_state(conn, workspace_id, state_id, values, state, flow_run_id, task_run_id)
    topic: change_feed.Topic = "flow_run" if table is flow_runs else "task_run"
    on_run = run_id if table is flow_runs else current.flow_run_id
    change_feed.record(conn, workspace_id, topic, "state", run_id, flow_run_id=on_run, at=now)
    written = State.model_construct(
        id=state_id,
        type=state.type,
        name=values["state_name"],
        timestamp=values["state_timestamp"],
        message=state.message,
        data=state.data,
        state_details=details,
    )
    return written, True


MIRRORED_FROM = "mirrored_from_flow_run_id"


def set_flow_run_state(
    conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID, state: StateCreate
) -> State:
    """Move a flow run to `state`; its result data (if any) is recorded as an artifact,
    and a subflow's placeholder task run follows."""
    result, written = _set_state(
        conn, workspace_id, flow_runs, run_id, state, "Flow run not found."
    )
    if written:  # a replay's artifact and mirrored state were written the first time
        record_result_artifact(conn, workspace_id, run_id, state.data)
        _mirror_onto_parent_task_run(conn, workspace_id, run_id, state)
    return result


def _mirror_onto_parent_task_run(
    conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID, state: StateCreate
) -> None:
    """A subflow's placeholder task run follows the subflow's state.

    Clients create a task run to stand for a subflow call and may never report
    its state again. Such a run is still PENDING when its subflow starts, or was
    last moved by this mirroring; a real task that calls a flow is RUNNING under
    its own reports, and is left alone.
    """
    if state.type is not StateType.RUNNING and state.type not in TERMINAL_STATES:
        return
    parent = conn.execute(
        select(task_runs.c.id, task_runs.c.state_type, task_runs.c.state_details)
        .join(flow_runs, flow_runs.c.parent_task_run_id == task_runs.c.id)
        .where(flow_runs.c.id == run_id, task_runs.c.workspace_id == workspace_id)
    ).first()
    if parent is None:
        return
    mirrored = (parent.state_details or {}).get(MIRRORED_FROM) == str(run_id)
    if parent.state_type != StateType.PENDING.value and not mirrored:
        return
    copy = StateCreate(
        type=state.type,
        name=state.name,
        message=state.message,
        timestamp=state.timestamp,
        state_details={MIRRORED_FROM: str(run_id)},
    )
    _set_state(conn, workspace_id, task_runs, parent.id, copy, "Task run not found.")


# -- task runs ----------------------------------------------------------------------


def _to_task_run(row: Row[Any]) -> TaskRun:
    return _task_run_from(row._mapping)


def _task_run_from(m: RunColumns) -> TaskRun:
    """A task run from its column values: a row read, or the values just written."""
    fields = {k: m.get(k) for k in _TASK_RUN_FIELDS}
    fields.update(
        state_type=state_type_of(m),
        labels=m["labels"] or {},
        empirical_policy=m["empirical_policy"] or {},
        task_inputs=m["task_inputs"] or {},
        state=state_from_row(m),
    )
    return TaskRun.model_construct(**fields)


def create_task_run(conn: Connection, workspace_id: uuid.UUID, action: TaskRunCreate) -> TaskRun:
    """Create a task run; an id that already exists returns the stored run (idempotent),
    unless another workspace's run has it (Conflict: the key is the id alone)."""
    run_id = action.id or new_id()
    if action.id is not None:
        existing = conn.execute(select(task_runs).where(task_runs.c.id == run_id)).first()
        if existing is not None:
            if existing.workspace_id != workspace_id:
                raise Conflict(f"Task run id {run_id} is already used by another run.")
            return _to_task_run(existing)
    now = utcnow()
    values = new_task_run_row(workspace_id, action, run_id, now, expected_start_time=now)
    state = action.state or StateCreate(type=StateType.PENDING)
    details = {**state.state_details, "task_run_id": str(run_id)}
    state_values, state_id = state_columns(None, state, now, details)
    values.update(state_values)
    replayed = replayed_state(conn, workspace_id, state, task_run_id=run_id)
    conn.execute(task_runs.insert(), values)
    if replayed is None:
        record_state(conn, workspace_id, state_id, state_values, state, action.flow_run_id, run_id)
    change_feed.record(
        conn, workspace_id, "task_run", "created", run_id, flow_run_id=action.flow_run_id, at=now
    )
    # Built from what was written: no read-back on the hot path of every task call.
    return _task_run_from(values)


def read_task_run(conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID) -> TaskRun:
    row = conn.execute(
        select(task_runs).where(task_runs.c.id == run_id, task_runs.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound("Task run not found.")
    return _to_task_run(row)


def filter_task_runs(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: TaskRunFilter | None = None,
    flow_run_crit: FlowRunFilter | None = None,
    sort: TaskRunSort | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[TaskRun]:
    stmt = select(task_runs).where(task_runs.c.workspace_id == workspace_id)
    clause = filtering.task_run_clauses(crit)
    if clause is not None:
        stmt = stmt.where(clause)
    run_clause = filtering.flow_run_clauses(flow_run_crit)
    if run_clause is not None:
        stmt = stmt.where(task_runs.c.flow_run_id.in_(select(flow_runs.c.id).where(run_clause)))
    stmt = stmt.order_by(*filtering.task_run_order(sort)).limit(limit).offset(offset)
    return [_to_task_run(row) for row in conn.execute(stmt)]


def set_task_run_state(
    conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID, state: StateCreate
) -> State:
    return _set_state(conn, workspace_id, task_runs, run_id, state, "Task run not found.")[0]


# -- batched task-run records (the SDK's background recorder) -------------------------


# A batch's new runs and their states, each written with one executemany of a statement
# compiled once (`Connection.execute` spends more per row building parameters than SQLite
# spends inserting them). JSON columns are given as their text, encoded here: a state's
# details are encoded once for its history row and its run's row, and the empty values
# most runs carry cost no encoding at all.
_NEW_TASK_RUN_COLUMNS = (
    "id",
    "workspace_id",
    "flow_run_id",
    "task_key",
    "dynamic_key",
    "name",
    "cache_key",
    "task_version",
    "task_inputs",
    "tags",
    "labels",
    "empirical_policy",
    "run_count",
    "flow_run_run_count",
    "total_run_time",
    "start_time",
    "end_time",
    "expected_start_time",
    "created",
    "updated",
    "state_id",
    "state_type",
    "state_name",
    "state_message",
    "state_timestamp",
    "state_details",
)
_STATE_ROW_COLUMNS = (
    "id",
    "workspace_id",
    "flow_run_id",
    "task_run_id",
    "type",
    "name",
    "message",
    "timestamp",
    "data",
    "details",
)


def _insert_with_json_text(table: Table, columns: tuple[str, ...]) -> Prepared:
    """An INSERT of `columns`, each bound under its own name; JSON ones take their text."""
    as_text = JSONTextAsIs()
    return Prepared(
        table.insert().values(
            {
                name: bindparam(name, type_=as_text)
                if isinstance(table.c[name].type, JSONText)
                else bindparam(name)
                for name in columns
            }
        )
    )


_INSERT_TASK_RUNS = _insert_with_json_text(task_runs, _NEW_TASK_RUN_COLUMNS)
_INSERT_STATES = _insert_with_json_text(run_states, _STATE_ROW_COLUMNS)
_JSON_RUN_COLUMNS = ("task_inputs", "tags", "labels", "empirical_policy")


def _json_text(value: Any) -> str | None:
    """What JSONText stores for `value`."""
    if value is None:
        return None
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    return dumps(value)


def record_task_runs(
    conn: Connection, workspace_id: uuid.UUID, records: Sequence[TaskRunRecordFields]
) -> int:
    """Write task runs with their states: new runs are inserted with their latest state,
    known ones updated; every state goes to the history. Returns the number of runs.

    A batch delivered again writes nothing twice: states whose ids are already in their
    run's history are skipped (a state id of another run is a Conflict), and a known run
    is only moved by its new states.
    """
    if not records:
        return 0
    # Almost every batch is new runs with new states: it is first written as such,
    # without looking its ids up. One that repeats a stored run or state id (a batch sent
    # again) fails on that table's primary key, is undone, and is written after the
    # look-ups below.
    try:
        with conn.begin_nested():
            return _write_task_runs(conn, workspace_id, records, {}, set())
    except IntegrityError:
        pass
    ids = [r.task_run.id for r in records if r.task_run.id is not None]
    known: dict[uuid.UUID, RunColumns] = {
        row.id: row._mapping
        for row in conn.execute(
            select(task_runs.c.id, task_runs.c.workspace_id, *_state_reads(task_runs)).where(
                task_runs.c.id.in_(ids)
            )
        )
    }
    skipped = replayed_task_run_states(
        conn,
        workspace_id,
        [(r.task_run.id, s) for r in records if r.task_run.id is not None for s in r.states],
    )
    return _write_task_runs(conn, workspace_id, records, known, skipped)


def _write_task_runs(
    conn: Connection,
    workspace_id: uuid.UUID,
    records: Sequence[TaskRunRecordFields],
    known: dict[uuid.UUID, RunColumns],
    skipped: set[uuid.UUID],
) -> int:
    """`record_task_runs` once the stored runs among the records (`known`) and the stored
    states (`skipped`) are known."""
    seen: dict[uuid.UUID, uuid.UUID] = {}  # state id -> its run, within this batch
    now = utcnow()
    history: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []  # one change row per run this batch moves
    for record in records:
        action = record.task_run
        run_id = action.id or new_id()
        current: RunColumns = known.get(run_id) or {"start_time": None, "run_count": 0}
        if run_id in known and known[run_id]["workspace_id"] != workspace_id:
            raise NotFound("Task run not found.")
        values: dict[str, Any] = {}
        details: dict[str, Any] | None = None
        details_text: str | None = None
        for state in record.states:
            if state.id is not None:
                if state.id in skipped:
                    continue
                if state.id in seen:
                    if seen[state.id] != run_id:
                        raise Conflict(f"State id {state.id} is already used by another run.")
                    continue  # the same state twice in one batch
                seen[state.id] = run_id
            # The run's details change only by a state's own: the next state of the run
            # keeps them, and their text.
            if details is None or state.state_details:
                details = {
                    **(current.get("state_details") or {}),
                    **state.state_details,
                    "task_run_id": str(run_id),
                }
                details_text = _json_text(details)
            step, state_id = state_columns(current, state, now, details)
            values.update(step)
            current = {**current, **step}
            history.append(
                {
                    "id": state_id,
                    "workspace_id": workspace_id,
                    "flow_run_id": action.flow_run_id,
                    "task_run_id": run_id,
                    "type": step["state_type"],
                    "name": step["state_name"],
                    "message": step["state_message"],
                    "timestamp": step["state_timestamp"],
                    "data": _json_text(state.data),
                    "details": details_text,
                }
            )
        if values:
            moved.append(
                change_feed.row(
                    workspace_id,
                    "task_run",
                    "state",
                    run_id,
                    flow_run_id=action.flow_run_id,
                    at=now,
                )
            )
        if run_id in known:
            if values:  # a replayed record has no new state to move its run
                conn.execute(_update_by_id(task_runs), {"run_id_": run_id, **values})
        elif values:  # (a new run with only replayed states would be another's: no row)
            row = new_task_run_row(workspace_id, action, run_id, now)
            row.update(values)
            for name in _JSON_RUN_COLUMNS:
                row[name] = _json_text(row[name])
            row["state_details"] = details_text  # the latest state's, encoded above
            new_rows.append(row)
            known[run_id] = {**current, "workspace_id": workspace_id}
    _INSERT_TASK_RUNS.run_many(conn, new_rows)
    _INSERT_STATES.run_many(conn, history)
    change_feed.record_many(conn, moved)
    return len(records)


def new_task_run_row(
    workspace_id: uuid.UUID,
    action: TaskRunFields,
    run_id: uuid.UUID,
    now: dt.datetime,
    expected_start_time: dt.datetime | None = None,
) -> dict[str, Any]:
    """The columns of a new task run before its first state is applied."""
    if expected_start_time is None and action.state is not None:
        expected_start_time = action.state.timestamp
    return {
        "id": run_id,
        "workspace_id": workspace_id,
        "flow_run_id": action.flow_run_id,
        "task_key": action.task_key,
        "dynamic_key": action.dynamic_key,
        "name": action.name or f"{action.task_key}-{action.dynamic_key}",
        "cache_key": action.cache_key,
        "task_version": action.task_version,
        "task_inputs": action.task_inputs,
        "tags": action.tags,
        "labels": action.labels,
        "empirical_policy": action.empirical_policy,
        "run_count": 0,
        "flow_run_run_count": 0,
        "total_run_time": 0.0,
        "start_time": None,
        "end_time": None,
        "expected_start_time": expected_start_time or now,
        "created": now,
        "updated": now,
    }
