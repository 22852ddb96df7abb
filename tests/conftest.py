"""Factory fixtures: real SQLite files in temp dirs (and, for the suites that run on both
databases, PostgreSQL), the app over HTTP, a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runfolio.client import reset_client
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.pg import PostgresServer, each_database, postgres_server
from tests.servers import ServerProcess, running_server
from tests.workspaces import app_with_workspaces


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (started when first needed)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database of `settings`: None, the embedded SQLite file under its home.

    The suites that run on both databases override it (with `params=DATABASES`); a test
    elsewhere opts in with `@tests.pg.on_both_databases`.
    """
    if not hasattr(request, "param"):
        yield None
        return
    yield from each_database(request)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Settings for a fresh database: an embedded file in a temp dir, or a new PostgreSQL
    database where the suite runs on both (environment ignored)."""
    return Settings(home=tmp_path / "home", database_url=database_url, api_url=None, api_key=None)


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app on a real database, spoken to over HTTP (in-process ASGI)."""
    with TestClient(app_with_workspaces(settings)) as client:
        yield client
    dispose_engines()


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Iterator[ServerProcess]:
    """A real `runfolio server start` process on 127.0.0.1 with its own database."""
    env = {"RUNFOLIO_DATABASE_URL": database_url} if database_url else None
    with running_server(tmp_path / "server-home", env) as proc:
        yield proc


@pytest.fixture(scope="module")
def module_server_postgresql(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer
) -> Iterator[ServerProcess]:
    """A real server on a PostgreSQL database, shared by one test module."""
    home = tmp_path_factory.mktemp("server-pg")
    with (
        postgres.database() as url,
        running_server(home, {"RUNFOLIO_DATABASE_URL": url}) as proc,
    ):
        yield proc


@pytest.fixture(autouse=True)
def _fresh_process_client() -> Iterator[None]:
    # The SDK's process-wide client is built from settings; never carry one over.
    yield
    reset_client()
