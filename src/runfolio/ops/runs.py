"""Flow, flow-run and task-run operations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from runfolio.ops.context import Context
from runfolio.schemas.bodies import FlowFilterBody, FlowRunFilterBody, TaskRunFilterBody
from runfolio.schemas.runs import (
    Flow,
    FlowCreate,
    FlowRun,
    FlowRunCreate,
    State,
    StateCreate,
    TaskRun,
    TaskRunCreate,
    TaskRunRecordFields,
)
from runfolio.store import events as event_store
from runfolio.store import runs as store


def create_flow(ctx: Context, action: FlowCreate) -> tuple[Flow, bool]:
    """Create a flow, or return the existing one with that name (`False`)."""
    with ctx.writing() as (conn, ws):
        return store.create_flow(conn, ws, action)


def read_flow(ctx: Context, flow_id: uuid.UUID) -> Flow:
    with ctx.reading() as (conn, ws):
        return store.read_flow(conn, ws, flow_id)


def filter_flows(ctx: Context, body: FlowFilterBody) -> list[Flow]:
    limit, offset = ctx.page(body.limit, body.offset)
    with ctx.reading() as (conn, ws):
        return store.filter_flows(conn, ws, body.flows, limit, offset)


def create_flow_run(ctx: Context, action: FlowRunCreate) -> FlowRun:
    return add_flow_run(ctx, action)[0]


def add_flow_run(ctx: Context, action: FlowRunCreate) -> tuple[FlowRun, bool]:
    """Create a flow run; `False` when a replayed create (same id, same flow) stored nothing."""
    with ctx.writing() as (conn, ws):
        return store.add_flow_run(conn, ws, action, ctx.caller.principal.name)


def read_flow_run(ctx: Context, run_id: uuid.UUID) -> FlowRun:
    with ctx.reading() as (conn, ws):
        return store.read_flow_run(conn, ws, run_id)


def filter_flow_runs(ctx: Context, body: FlowRunFilterBody) -> list[FlowRun]:
    limit, offset = ctx.page(body.limit, body.offset)
    with ctx.reading() as (conn, ws):
        return store.filter_flow_runs(
            conn, ws, body.flow_runs, body.flows, body.sort, limit, offset
        )


def set_flow_run_state(ctx: Context, run_id: uuid.UUID, state: StateCreate) -> State:
    """Move a flow run to a new state (always accepted; times and run count follow).
    A state id already in the run's history is a replay: the stored state, nothing written."""
    with ctx.writing() as (conn, ws):
        return store.set_flow_run_state(conn, ws, run_id, state)


def read_flow_run_states(ctx: Context, run_id: uuid.UUID) -> list[State]:
    """A flow run's state history, oldest first (404 for an unknown run)."""
    with ctx.reading() as (conn, ws):
        store.read_flow_run(conn, ws, run_id)
        return store.list_states(conn, ws, flow_run_id=run_id)


def create_task_run(ctx: Context, action: TaskRunCreate) -> TaskRun:
    with ctx.writing() as (conn, ws):
        return store.create_task_run(conn, ws, action)


def read_task_run(ctx: Context, run_id: uuid.UUID) -> TaskRun:
    with ctx.reading() as (conn, ws):
        return store.read_task_run(conn, ws, run_id)


def filter_task_runs(ctx: Context, body: TaskRunFilterBody) -> list[TaskRun]:
    limit, offset = ctx.page(body.limit, body.offset)
    with ctx.reading() as (conn, ws):
        return store.filter_task_runs(
            conn, ws, body.task_runs, body.flow_runs, body.sort, limit, offset
        )


def set_task_run_state(ctx: Context, run_id: uuid.UUID, state: StateCreate) -> State:
    with ctx.writing() as (conn, ws):
        return store.set_task_run_state(conn, ws, run_id, state)


def read_task_run_states(ctx: Context, run_id: uuid.UUID) -> list[State]:
    """A task run's state history, oldest first (404 for an unknown run)."""
    with ctx.reading() as (conn, ws):
        store.read_task_run(conn, ws, run_id)
        return store.list_states(conn, ws, task_run_id=run_id)


def record_task_runs(ctx: Context, records: Sequence[TaskRunRecordFields]) -> int:
    """Write many task runs with the states they went through; the number recorded
    (the API's validated records, or the SDK's own)."""
    with ctx.writing() as (conn, ws):
        return store.record_task_runs(conn, ws, records)


def record_task_run_event(ctx: Context, report: event_store.TaskRunReport) -> None:
    """Record the task run and state one run-engine event reports."""
    with ctx.writing() as (conn, ws):
        event_store.record_task_run_event(conn, ws, report)
