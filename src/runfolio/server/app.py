"""The ASGI application: the API under `/api` (and under
`/api/accounts/{account_id}/workspaces/{workspace_id}` for named workspaces)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from runfolio._version import __version__
from runfolio.server.api import admin, artifacts, events, logs, runs
from runfolio.server.errors import install_error_handlers
from runfolio.server.middleware import RequestGuard
from runfolio.server.ui import mount_ui
from runfolio.settings import Settings, load_settings
from runfolio.store.engine import open_engine

API_PREFIX = "/api"
WORKSPACE_PREFIX = "/api/accounts/{account_id}/workspaces/{workspace_id}"


def _api_routers() -> tuple[APIRouter, ...]:
    return (
        artifacts.router,
        runs.flows_router,
        runs.flow_runs_router,
        runs.task_runs_router,
        logs.router,
        admin.router,
        events.router,
    )


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
    # Each router is included directly (not through a parent router): FastAPI
    # walks nested routers on every request.
    for router in _api_routers():
        app.include_router(router, prefix=API_PREFIX)
        app.include_router(router, prefix=WORKSPACE_PREFIX, include_in_schema=False)
    mount_ui(app)  # the web UI (server/ui/): pages at /, JSON twins at /api/ui, files at /static
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    return app
