"""The server's app with every request left to FastAPI's routing (no hot routes), for
`uvicorn --factory tests.server.framework_routes_app:app`."""

from __future__ import annotations

from fastapi import FastAPI

from runfolio.server.app import create_app
from runfolio.settings import load_settings


def app() -> FastAPI:
    return create_app(load_settings(), hot_routes=False)
