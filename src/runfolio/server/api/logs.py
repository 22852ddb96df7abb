"""`/logs`: log lines sent by run engines."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from runfolio import ops
from runfolio.schemas.bodies import LogFilterBody
from runfolio.schemas.runs import Log, LogCreate
from runfolio.server.deps import ApiDep
from runfolio.server.responses import empty, list_response

router = APIRouter(prefix="/logs", tags=["logs"])


# `response_class`: the 201 has no body, and the document says so.
@router.post("/", status_code=201, response_class=Response)
async def create_logs(body: list[LogCreate], api: ApiDep) -> Response:
    """Store log lines. Lines whose client-chosen `id` is already stored in the workspace
    are skipped (a resent batch); an id another workspace uses is a 409."""
    await api.write(ops.create_logs, body)
    return empty(201)


@router.post("/filter", response_model=list[Log])
async def filter_logs(body: LogFilterBody, api: ApiDep) -> Response:
    """The logs of one flow run, oldest first."""
    run_id = body.logs.flow_run_id.any_[0]
    return list_response(await api.read(ops.read_logs, run_id, body.limit, body.offset), Log)
