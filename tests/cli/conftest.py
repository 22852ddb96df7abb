"""Fixtures for the CLI: the `runfolio` app run by typer's runner on a temp store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.cli.helpers import Invoke, make_invoke


@pytest.fixture
def cli(settings: Settings) -> Iterator[Invoke]:
    """Run `runfolio ...` in-process on the embedded store of `settings`."""
    yield make_invoke(settings)
    dispose_engines()


@pytest.fixture
def store(settings: Settings) -> RunfolioClient:
    """A client on the same embedded store the CLI reads, to create test data."""
    return client_for(settings)
