"""One client contract suite, run against both transports, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.pg import DATABASES, PostgresServer
from tests.servers import ServerProcess, running_server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("client-server")) as proc:
        yield proc


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """The database the client's store is on: "sqlite" or "postgresql"."""
    name: str = request.param
    return name


@pytest.fixture(params=["embedded", "http"])
def transport(
    request: pytest.FixtureRequest, tmp_path: Path, database: str
) -> Iterator[RunfolioClient]:
    """A client on a fresh embedded database, or over HTTP to a real server on loopback.

    The HTTP suite shares one server per module (and database); its tests use their own
    keys and runs.
    """
    with ExitStack() as stack:
        if request.param == "embedded":
            url = None
            if database == "postgresql":
                postgres: PostgresServer = request.getfixturevalue("postgres")
                url = stack.enter_context(postgres.database())
            settings = Settings(home=tmp_path, database_url=url, api_url=None)
        else:
            name = "module_server" if database == "sqlite" else "module_server_postgresql"
            server: ServerProcess = request.getfixturevalue(name)
            settings = Settings(home=tmp_path, api_url=server.api_url, http_retries=1)
        client = client_for(settings)
        yield client
        client.close()
        dispose_engines()
