"""The ASGI application: the API under `/api` (and under
`/api/accounts/{account_id}/workspaces/{workspace_id}` for named workspaces)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from runfolio._version import __version__
from runfolio.server.api import admin, artifacts, logs, runs
from runfolio.server.errors import install_error_handlers
from runfolio.server.middleware import RequestGuard
from runfolio.settings import Settings, load_settings
from runfolio.store.engine import open_engine

API_PREFIX = "/api"
WORKSPACE_PREFIX = "/api/accounts/{account_id}/workspaces/{workspace_id}"


def _api_router() -> APIRouter:
    api = APIRouter()
    for router in (
        artifacts.router,
        runs.flows_router,
        runs.flow_runs_router,
        runs.task_runs_router,
        logs.router,
        admin.router,
    ):
        api.include_router(router)
    return api


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on the configured database (migrated on open)."""
    settings = settings or load_settings()
    app = FastAPI(
        title="runfolio",
        version=__version__,
        summary="Run artifacts: markdown, tables, links, images and progress from your workflows.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=f"{API_PREFIX}/redoc",
    )
    app.state.settings = settings
    app.state.engine = open_engine(settings.resolved_database_url())
    app.state.workspace_ids = {}
    install_error_handlers(app)
    api = _api_router()
    app.include_router(api, prefix=API_PREFIX)
    app.include_router(api, prefix=WORKSPACE_PREFIX, include_in_schema=False)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    return app
