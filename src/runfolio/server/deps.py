"""Request dependencies: the database engine and the addressed workspace.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a
worker thread, a thread hop per dependency per request.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from runfolio.settings import Settings
from runfolio.store import workspaces
from runfolio.store.engine import write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def resolve_workspace(connection: HTTPConnection) -> uuid.UUID:
    """`/api/...` is the default workspace; `/api/accounts/A/workspaces/W/...` a named one.

    Used by HTTP routes (through `WorkspaceId`) and by websocket routes alike.
    """
    params = connection.path_params
    account = params.get("account_id")
    name = params.get("workspace_id")
    if account is None or name is None:
        return DEFAULT_WORKSPACE_ID
    cache: dict[tuple[str, str], uuid.UUID] = connection.app.state.workspace_ids
    found = cache.get((account, name))
    if found is None:
        with write(connection.app.state.engine) as conn:
            found = workspaces.resolve(conn, account, name)
        cache[(account, name)] = found
    return found


async def _workspace_id(request: Request) -> uuid.UUID:
    return resolve_workspace(request)


DB = Annotated[Engine, Depends(_engine)]
WorkspaceId = Annotated[uuid.UUID, Depends(_workspace_id)]
AppSettings = Annotated[Settings, Depends(_settings)]
