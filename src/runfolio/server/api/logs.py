"""`/logs`: log lines sent by run engines."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from runfolio.schemas.runs import Log, LogCreate
from runfolio.server.deps import DB, AppSettings, WorkspaceId
from runfolio.server.responses import empty, list_response
from runfolio.store import logs as store
from runfolio.store.engine import read, write
from runfolio.store.filtering import resolve_page

router = APIRouter(prefix="/logs", tags=["logs"])


class _RunId(BaseModel):
    any_: list[uuid.UUID] = Field(min_length=1, max_length=1)


class _LogFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    flow_run_id: _RunId


class LogFilterBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    logs: _LogFilter
    limit: int | None = None
    offset: int | None = Field(default=None, ge=0)


@router.post("/", status_code=201)
async def create_logs(body: list[LogCreate], db: DB, ws: WorkspaceId) -> Response:
    with write(db) as conn:
        store.create_logs(conn, ws, body)
    return empty(201)


@router.post("/filter", response_model=list[Log])
async def filter_logs(
    body: LogFilterBody, db: DB, ws: WorkspaceId, settings: AppSettings
) -> Response:
    """The logs of one flow run, oldest first."""
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    run_id = body.logs.flow_run_id.any_[0]
    with read(db) as conn:
        return list_response(store.list_logs(conn, ws, run_id, limit, offset), Log)
