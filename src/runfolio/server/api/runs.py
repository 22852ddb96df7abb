"""`/flows`, `/flow_runs`, `/task_runs`: what a run engine needs, in the protocol's shapes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from runfolio.schemas.bodies import FlowFilterBody, FlowRunFilterBody, TaskRunFilterBody
from runfolio.schemas.runs import (
    Flow,
    FlowCreate,
    FlowRun,
    FlowRunCreate,
    OrchestrationResult,
    SetState,
    State,
    TaskRun,
    TaskRunCreate,
    TaskRunRecord,
)
from runfolio.server.deps import DB, AppSettings, WorkspaceId
from runfolio.server.responses import list_response, model_response
from runfolio.store import runs as store
from runfolio.store.engine import read, write
from runfolio.store.filtering import resolve_page

flows_router = APIRouter(prefix="/flows", tags=["flows"])
flow_runs_router = APIRouter(prefix="/flow_runs", tags=["flow runs"])
task_runs_router = APIRouter(prefix="/task_runs", tags=["task runs"])


@flows_router.post("/", status_code=201, response_model=Flow)
async def create_flow(body: FlowCreate, db: DB, ws: WorkspaceId) -> Response:
    """Create a flow, or return the existing one with that name (200)."""
    with write(db) as conn:
        flow, created = store.create_flow(conn, ws, body)
    return model_response(flow, 201 if created else 200)


@flows_router.get("/{flow_id:uuid}", response_model=Flow)
async def read_flow(flow_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        return model_response(store.read_flow(conn, ws, flow_id))


@flows_router.post("/filter", response_model=list[Flow])
async def filter_flows(
    db: DB, ws: WorkspaceId, settings: AppSettings, body: FlowFilterBody | None = None
) -> Response:
    body = body or FlowFilterBody()
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    with read(db) as conn:
        return list_response(store.filter_flows(conn, ws, body.flows, limit, offset), Flow)


@flow_runs_router.post("/", status_code=201, response_model=FlowRun)
async def create_flow_run(body: FlowRunCreate, db: DB, ws: WorkspaceId) -> Response:
    with write(db) as conn:
        return model_response(store.create_flow_run(conn, ws, body), 201)


@flow_runs_router.get("/{run_id:uuid}", response_model=FlowRun)
async def read_flow_run(run_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        return model_response(store.read_flow_run(conn, ws, run_id))


@flow_runs_router.post(
    "/{run_id:uuid}/set_state", status_code=201, response_model=OrchestrationResult
)
async def set_flow_run_state(
    run_id: uuid.UUID, body: SetState, db: DB, ws: WorkspaceId
) -> Response:
    """Move a flow run to a new state (always accepted; times and run count follow).

    State data (a persisted result's location) is also recorded as an artifact of the run.
    """
    with write(db) as conn:
        state = store.set_flow_run_state(conn, ws, run_id, body.state)
    return model_response(OrchestrationResult(state=state), 201)


@flow_runs_router.get("/{run_id:uuid}/states", response_model=list[State])
async def read_flow_run_states(run_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        store.read_flow_run(conn, ws, run_id)
        return list_response(store.list_states(conn, ws, flow_run_id=run_id), State)


@flow_runs_router.post("/filter", response_model=list[FlowRun])
async def filter_flow_runs(
    db: DB, ws: WorkspaceId, settings: AppSettings, body: FlowRunFilterBody | None = None
) -> Response:
    body = body or FlowRunFilterBody()
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    with read(db) as conn:
        items = store.filter_flow_runs(
            conn, ws, body.flow_runs, body.flows, body.sort, limit, offset
        )
    return list_response(items, FlowRun)


@task_runs_router.post("/", status_code=201, response_model=TaskRun)
async def create_task_run(body: TaskRunCreate, db: DB, ws: WorkspaceId) -> Response:
    with write(db) as conn:
        return model_response(store.create_task_run(conn, ws, body), 201)


@task_runs_router.post("/batch", status_code=201)
async def record_task_runs(body: list[TaskRunRecord], db: DB, ws: WorkspaceId) -> dict[str, int]:
    """Write many task runs with the states they went through (the SDK's batched recorder)."""
    with write(db) as conn:
        return {"recorded": store.record_task_runs(conn, ws, body)}


@task_runs_router.get("/{run_id:uuid}", response_model=TaskRun)
async def read_task_run(run_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        return model_response(store.read_task_run(conn, ws, run_id))


@task_runs_router.post(
    "/{run_id:uuid}/set_state", status_code=201, response_model=OrchestrationResult
)
async def set_task_run_state(
    run_id: uuid.UUID, body: SetState, db: DB, ws: WorkspaceId
) -> Response:
    with write(db) as conn:
        state = store.set_task_run_state(conn, ws, run_id, body.state)
    return model_response(OrchestrationResult(state=state), 201)


@task_runs_router.get("/{run_id:uuid}/states", response_model=list[State])
async def read_task_run_states(run_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        store.read_task_run(conn, ws, run_id)
        return list_response(store.list_states(conn, ws, task_run_id=run_id), State)


@task_runs_router.post("/filter", response_model=list[TaskRun])
async def filter_task_runs(
    db: DB, ws: WorkspaceId, settings: AppSettings, body: TaskRunFilterBody | None = None
) -> Response:
    body = body or TaskRunFilterBody()
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    with read(db) as conn:
        items = store.filter_task_runs(
            conn, ws, body.task_runs, body.flow_runs, body.sort, limit, offset
        )
    return list_response(items, TaskRun)
