"""The ASGI application: the API under `/api` (and under
`/api/accounts/{account_id}/workspaces/{workspace_id}` for named workspaces)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from runfolio._version import __version__
from runfolio.ops import Caller, Context
from runfolio.ops.access import OPEN
from runfolio.server.api import admin, artifacts, blobs, events, logs, retention, runs, webhooks
from runfolio.server.auth import Authenticator
from runfolio.server.concurrency import CountWrites, Gate
from runfolio.server.deps import Api
from runfolio.server.errors import ERROR_RESPONSES, install_error_handlers
from runfolio.server.hot_routes import HotRoutes
from runfolio.server.live import ChangeFeed, chain_exit_signals
from runfolio.server.middleware import RequestGuard
from runfolio.server.retention_task import RetentionSchedule
from runfolio.server.ui import mount_ui
from runfolio.server.webhook_sender import WebhookSender
from runfolio.settings import Settings, load_settings
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.engine import connect

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
        webhooks.router,
        retention.router,
        blobs.router,
    )


def create_app(settings: Settings | None = None, *, hot_routes: bool = True) -> FastAPI:
    """Build the app on the configured database (migrated on open).

    `hot_routes=False` leaves every request to FastAPI's routing (`hot_routes` serves the
    most frequent ones past it, with the same answers): for comparing the two."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Delivers the webhook calls artifact writes queued (in every worker: claims are safe).
        sender = app.state.webhook_sender = WebhookSender(engine, app.state.gate, settings)
        sender.start()
        retention_schedule = RetentionSchedule(
            app.state.engine, settings.retention_interval, app.state.blob_files
        )
        retention_schedule.start()
        feed: ChangeFeed = app.state.changes
        feed.start()
        chain_exit_signals(feed.close)  # open streams must not hold up the server's stop
        quick_writes = app.state.gate.postgres_quick_writes
        if quick_writes is not None:
            await quick_writes.open()
        yield
        if quick_writes is not None:
            await quick_writes.close()
        await sender.stop()
        feed.close()
        await retention_schedule.stop()
        app.state.gate.close()
        app.state.engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="runfolio",
        version=__version__,
        summary="Run artifacts: markdown, tables, links, images and progress from your workflows.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=f"{API_PREFIX}/redoc",
    )
    app.state.settings = settings
    # The app owns its engine (disposed at shutdown).
    app.state.engine = engine = connect(
        settings.resolved_database_url(),
        synchronous=settings.sqlite_synchronous,
        write_timeout=settings.write_timeout,
        pool_size=settings.db_pool_size,
    )
    app.state.blob_files = BlobFiles(settings.resolved_blob_dir(), settings.blob_max_bytes)
    app.state.gate = gate = Gate(engine, settings.write_timeout, settings.db_pool_size)
    app.state.default_api = Api(Context.configured(engine, settings, Caller(principal=OPEN)), gate)
    app.state.auth = Authenticator(engine, gate, settings)
    app.state.changes = ChangeFeed(engine, gate, settings.live_streams)
    install_error_handlers(app)
    # Each router is included directly (not through a parent router): FastAPI
    # walks nested routers on every request.
    for router in _api_routers():
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
        app.include_router(router, prefix=WORKSPACE_PREFIX, include_in_schema=False)
    mount_ui(app)  # the web UI (server/ui/): pages at /, JSON twins at /api/ui, files at /static
    _document_page_limit(app, settings.default_limit)
    if hot_routes:
        app.add_middleware(
            HotRoutes, routes=artifacts.HOT_ROUTES, prefixes=(API_PREFIX, WORKSPACE_PREFIX)
        )
    app.add_middleware(CountWrites, gate=gate)  # innermost: only requests that got through
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        upload_bytes=settings.blob_max_bytes,
    )
    hosts = settings.allowed_host_list()
    if hosts is not None:
        # Outermost: a request naming another host (DNS rebinding) is answered 400 first.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return app


#: What `runfolio server start --workers N` hands uvicorn: an import string, so each
#: worker process builds its own app.
WORKER_APP_FACTORY = "runfolio.server.app:worker_app"


def worker_app() -> FastAPI:
    """The app of one server worker process (uvicorn calls this factory in each).

    Settings reach the workers through the environment they inherit from
    `server start` (which read the same one); its own options (host, port,
    workers) are uvicorn's and do not concern the app. Every worker has its own
    engine, pool and gate; nothing that must agree between workers lives in
    memory, it is all in the database.
    """
    return create_app(load_settings())


def _document_page_limit(app: FastAPI, max_limit: int) -> None:
    """Write this server's `limit` maximum (a setting) into the OpenAPI document.

    The bodies cannot declare it themselves: it is checked by the paging rules, which
    answer with the protocol's `{"detail": ...}` text rather than a field error.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for schema in document.get("components", {}).get("schemas", {}).values():
                limit = schema.get("properties", {}).get("limit")
                for option in (limit or {}).get("anyOf", [limit] if limit else []):
                    if option.get("type") == "integer":
                        option.update(minimum=0, maximum=max_limit)
            app.openapi_schema = document
        return app.openapi_schema

    # FastAPI's documented way to customise the document, though it declares `openapi` a method.
    app.openapi = openapi  # type: ignore[method-assign]
