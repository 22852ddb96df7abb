"""Fixtures for the CLI: the `runfolio` app run by typer's runner on a temp store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.cli.helpers import Invoke, make_invoke
from tests.pg import DATABASES, each_database


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on the embedded SQLite file and on PostgreSQL."""
    yield from each_database(request)


@pytest.fixture
def cli(settings: Settings) -> Iterator[Invoke]:
    """Run `runfolio ...` in-process on the store of `settings`."""
    yield make_invoke(settings)
    dispose_engines()


@pytest.fixture
def store(settings: Settings) -> Iterator[RunfolioClient]:
    """A client on the same store the CLI reads, to create test data."""
    client = client_for(settings)
    yield client
    client.close()
