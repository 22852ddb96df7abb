"""One client contract suite, run against both transports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.servers import ServerProcess, running_server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("client-server")) as proc:
        yield proc


@pytest.fixture(params=["embedded", "http"])
def transport(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunfolioClient]:
    """A client on a fresh embedded file, or over HTTP to a real server on loopback.

    The HTTP suite shares one server per module; its tests use their own keys and runs.
    """
    if request.param == "embedded":
        client = client_for(Settings(home=tmp_path, api_url=None))
    else:
        server: ServerProcess = request.getfixturevalue("module_server")
        client = client_for(Settings(home=tmp_path, api_url=server.api_url, http_retries=1))
    yield client
    client.close()
    dispose_engines()
