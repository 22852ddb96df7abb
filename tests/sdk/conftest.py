"""SDK fixtures: the process-wide client pointed at a fresh embedded database (a SQLite
file, and again a PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runfolio.client import RunfolioClient, client_for, reset_client, use_client
from runfolio.settings import Settings
from tests.pg import DATABASES, each_database


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here that records runs does so on SQLite and on PostgreSQL."""
    yield from each_database(request)


@pytest.fixture
def client(settings: Settings) -> Iterator[RunfolioClient]:
    """The client the SDK uses, on an embedded database in a temp dir."""
    sdk_client = client_for(settings)
    use_client(sdk_client)
    yield sdk_client
    reset_client()
