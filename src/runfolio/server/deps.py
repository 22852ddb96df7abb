"""Request dependencies: the operations context of the addressed workspace.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a
worker thread, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends
from starlette.requests import HTTPConnection

from runfolio.errors import NotFound
from runfolio.ops import Caller, Context
from runfolio.ops.access import OPEN, Principal
from runfolio.server.auth import Authenticator
from runfolio.server.concurrency import Gate
from runfolio.settings import Settings
from runfolio.store.tables import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE

P = ParamSpec("P")
T = TypeVar("T")

# The workspaces table's column size; longer names cannot name a workspace.
MAX_WORKSPACE_NAME = 200


@dataclass(frozen=True, slots=True)
class Api:
    """What a route needs: the operations context and the gate that runs operations by
    the server's concurrency model (`await api.read(ops.read_artifact, artifact_id)`)."""

    ctx: Context
    gate: Gate

    async def read(self, op: Callable[Concatenate[Context, P], T], *a: P.args, **kw: P.kwargs) -> T:
        return await self.gate.read(op, self.ctx, *a, **kw)

    async def write(
        self, op: Callable[Concatenate[Context, P], T], *a: P.args, **kw: P.kwargs
    ) -> T:
        return await self.gate.write(op, self.ctx, *a, **kw)

    async def quick_write(
        self, op: Callable[Concatenate[Context, P], T], *a: P.args, **kw: P.kwargs
    ) -> T:
        """`write` for an operation of one short transaction (`Gate.quick_write`)."""
        return await self.gate.quick_write(op, self.ctx, *a, **kw)


def workspace_of(connection: HTTPConnection) -> tuple[str, str]:
    """`/api/...` is the default workspace; `/api/accounts/A/workspaces/W/...` a named one."""
    params = connection.path_params
    account = params.get("account_id")
    name = params.get("workspace_id")
    if account is None or name is None:
        return DEFAULT_ACCOUNT, DEFAULT_WORKSPACE
    if not (0 < len(account) <= MAX_WORKSPACE_NAME and 0 < len(name) <= MAX_WORKSPACE_NAME):
        raise NotFound(f"Workspace not found: names are 1 to {MAX_WORKSPACE_NAME} characters.")
    return account, name


def api_as(connection: HTTPConnection, principal: Principal, workspace: tuple[str, str]) -> Api:
    """The operations of `principal` in `workspace` (account, name)."""
    state = connection.app.state
    if principal is OPEN and workspace == (DEFAULT_ACCOUNT, DEFAULT_WORKSPACE):
        default: Api = state.default_api
        return default
    settings: Settings = state.settings
    caller = Caller(account=workspace[0], workspace=workspace[1], principal=principal)
    return Api(Context.configured(state.engine, settings, caller), state.gate)


def authenticator(connection: HTTPConnection) -> Authenticator:
    auth: Authenticator = connection.app.state.auth
    return auth


async def api_for(connection: HTTPConnection) -> Api:
    """The operations of an API request's caller (by its Authorization header) in the
    workspace its address names. Unauthenticated when credentials are needed and
    missing or wrong."""
    workspace = workspace_of(connection)
    principal = await authenticator(connection).api_principal(connection)
    return api_as(connection, principal, workspace)


async def _api(connection: HTTPConnection) -> Api:
    return await api_for(connection)


async def _settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


ApiDep = Annotated[Api, Depends(_api)]
AppSettings = Annotated[Settings, Depends(_settings)]
