"""`/flows`, `/flow_runs`, `/task_runs`: what a run engine needs, in the protocol's shapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from runfolio import ops
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
from runfolio.server.deps import ApiDep
from runfolio.server.responses import list_response, model_response

# A run's own id is `{id}` in its paths, as in the protocol's; named `run_id` there, it
# reads (to clients that infer links from names) like any response's `flow_run_id`.
RunId = Annotated[uuid.UUID, Path(alias="id")]

flows_router = APIRouter(prefix="/flows", tags=["flows"])
flow_runs_router = APIRouter(prefix="/flow_runs", tags=["flow runs"])
task_runs_router = APIRouter(prefix="/task_runs", tags=["task runs"])


@flows_router.post(
    "/",
    status_code=201,
    response_model=Flow,
    responses={200: {"model": Flow, "description": "The existing flow of that name."}},
)
async def create_flow(body: FlowCreate, api: ApiDep) -> Response:
    """Create a flow, or return the existing one with that name (200)."""
    flow, created = await api.write(ops.create_flow, body)
    return model_response(flow, 201 if created else 200)


@flows_router.get("/{flow_id:uuid}", response_model=Flow)
async def read_flow(flow_id: uuid.UUID, api: ApiDep) -> Response:
    return model_response(await api.read(ops.read_flow, flow_id))


@flows_router.post("/filter", response_model=list[Flow])
async def filter_flows(api: ApiDep, body: FlowFilterBody | None = None) -> Response:
    return list_response(await api.read(ops.filter_flows, body or FlowFilterBody()), Flow)


@flow_runs_router.post(
    "/",
    status_code=201,
    response_model=FlowRun,
    responses={200: {"model": FlowRun, "description": "A replayed create: the stored run."}},
)
async def create_flow_run(body: FlowRunCreate, api: ApiDep) -> Response:
    """Create a flow run. A create replayed with the same client-chosen `id` (and flow)
    stores nothing and returns the stored run; that id for another flow's run is a 409."""
    run, created = await api.write(ops.add_flow_run, body)
    return model_response(run, 201 if created else 200)


@flow_runs_router.get("/{id:uuid}", response_model=FlowRun)
async def read_flow_run(run_id: RunId, api: ApiDep) -> Response:
    return model_response(await api.read(ops.read_flow_run, run_id))


@flow_runs_router.post("/{id:uuid}/set_state", status_code=201, response_model=OrchestrationResult)
async def set_flow_run_state(run_id: RunId, body: SetState, api: ApiDep) -> Response:
    """Move a flow run to a new state (always accepted; times and run count follow).

    A state whose client-chosen `id` is already in the run's history is a replay: nothing
    is written and the answer is the stored state's; another run's state id is a 409.
    State data (a persisted result's location) is also recorded as an artifact of the run.
    """
    state = await api.write(ops.set_flow_run_state, run_id, body.state)
    return model_response(OrchestrationResult(state=state), 201)


@flow_runs_router.get("/{id:uuid}/states", response_model=list[State])
async def read_flow_run_states(run_id: RunId, api: ApiDep) -> Response:
    return list_response(await api.read(ops.read_flow_run_states, run_id), State)


@flow_runs_router.post("/filter", response_model=list[FlowRun])
async def filter_flow_runs(api: ApiDep, body: FlowRunFilterBody | None = None) -> Response:
    items = await api.read(ops.filter_flow_runs, body or FlowRunFilterBody())
    return list_response(items, FlowRun)


@task_runs_router.post("/", status_code=201, response_model=TaskRun)
async def create_task_run(body: TaskRunCreate, api: ApiDep) -> Response:
    return model_response(await api.write(ops.create_task_run, body), 201)


@task_runs_router.post("/batch", status_code=201)
async def record_task_runs(body: list[TaskRunRecord], api: ApiDep) -> dict[str, int]:
    """Write many task runs with the states they went through (the SDK's batched recorder)."""
    return {"recorded": await api.write(ops.record_task_runs, body)}


@task_runs_router.get("/{id:uuid}", response_model=TaskRun)
async def read_task_run(run_id: RunId, api: ApiDep) -> Response:
    return model_response(await api.read(ops.read_task_run, run_id))


@task_runs_router.post("/{id:uuid}/set_state", status_code=201, response_model=OrchestrationResult)
async def set_task_run_state(run_id: RunId, body: SetState, api: ApiDep) -> Response:
    """Move a task run to a new state; a replayed state `id` writes nothing (as for flow runs)."""
    state = await api.write(ops.set_task_run_state, run_id, body.state)
    return model_response(OrchestrationResult(state=state), 201)


@task_runs_router.get("/{id:uuid}/states", response_model=list[State])
async def read_task_run_states(run_id: RunId, api: ApiDep) -> Response:
    return list_response(await api.read(ops.read_task_run_states, run_id), State)


@task_runs_router.post("/filter", response_model=list[TaskRun])
async def filter_task_runs(api: ApiDep, body: TaskRunFilterBody | None = None) -> Response:
    items = await api.read(ops.filter_task_runs, body or TaskRunFilterBody())
    return list_response(items, TaskRun)
