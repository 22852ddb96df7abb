"""The store suite runs on the embedded SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.pg import DATABASES, PostgresServer, each_database


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here that asks for a database runs on SQLite and on PostgreSQL."""
    yield from each_database(request)


@pytest.fixture(params=DATABASES)
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """A factory of URLs of new databases without any table: SQLite files named `name`,
    or PostgreSQL databases (dropped after the test)."""
    with ExitStack() as stack:

        def new(name: str) -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / name}"
            postgres: PostgresServer = request.getfixturevalue("postgres")
            return stack.enter_context(postgres.database(empty=True))

        yield new
