"""Factory fixtures: real SQLite files in temp dirs, the app over HTTP, a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runfolio.client import reset_client
from runfolio.server.app import create_app
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.servers import ServerProcess, running_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an embedded database in a fresh temp dir (environment ignored)."""
    return Settings(home=tmp_path / "home", database_url=None, api_url=None, api_key=None)


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app on a real SQLite file, spoken to over HTTP (in-process ASGI)."""
    with TestClient(create_app(settings)) as client:
        yield client
    dispose_engines()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `runfolio server start` process on 127.0.0.1 with its own database."""
    with running_server(tmp_path / "server-home") as proc:
        yield proc


@pytest.fixture(autouse=True)
def _fresh_process_client() -> Iterator[None]:
    # The SDK's process-wide client is built from settings; never carry one over.
    yield
    reset_client()
