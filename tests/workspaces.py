"""Named workspaces for tests: an admin creates them (they never appear by use)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from runfolio.server.app import create_app
from runfolio.settings import Settings
from runfolio.store import workspaces
from runfolio.store.engine import write

# The named workspaces the API tests address.
TEST_WORKSPACES = ("abc/xyz", "abc/other", "def/xyz", "a/w", "acme/prod", "acme/team")


def create_workspaces(engine: Engine, *paths: str) -> None:
    """Create each workspace of `paths` that does not exist yet."""
    with write(engine) as conn:
        for path in paths:
            account, name = workspaces.parse_path(path)
            if workspaces.lookup(conn, account, name) is None:
                workspaces.create(conn, path)


def app_with_workspaces(settings: Settings) -> FastAPI:
    """The app on `settings`' database, with the named workspaces the tests address."""
    app = create_app(settings)
    create_workspaces(app.state.engine, *TEST_WORKSPACES)
    return app
