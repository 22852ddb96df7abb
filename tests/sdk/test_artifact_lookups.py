"""`Artifact.aget` and `Artifact.aget_or_create`, on both transports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from runfolio.artifacts import Artifact, MarkdownArtifact, create_markdown_artifact
from runfolio.client import RunfolioClient, client_for, reset_client, use_client
from runfolio.schemas.bodies import ArtifactCountBody
from runfolio.schemas.filters import ArtifactFilter, KeyFilter
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.servers import ServerProcess, running_server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("lookups-server")) as proc:
        yield proc


@pytest.fixture(params=["embedded", pytest.param("http", marks=pytest.mark.server)])
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[RunfolioClient]:
    """The SDK's process-wide client: an embedded database, or a real server over HTTP.

    The HTTP tests share one server, so each test uses keys of its own.
    """
    if request.param == "http":
        # A server on the database of the test (one per module and database).
        name = "module_server" if settings.database_url is None else "module_server_postgresql"
        api_url = request.getfixturevalue(name).api_url
        sdk_client = client_for(Settings(home=settings.home, api_url=api_url))
    else:
        sdk_client = client_for(settings)
    use_client(sdk_client)
    yield sdk_client
    reset_client()
    dispose_engines()


def count(client: RunfolioClient, key: str) -> int:
    return client.count_artifacts(
        ArtifactCountBody(artifacts=ArtifactFilter(key=KeyFilter(any_=[key])))
    )


def test_aget_returns_the_latest_version_or_none(client: RunfolioClient) -> None:
    create_markdown_artifact("v1", key="report")
    latest = create_markdown_artifact("v2", key="report")

    found = asyncio.run(Artifact.aget("report"))
    assert found is not None
    assert (found.id, found.data) == (latest, "v2")
    assert asyncio.run(Artifact.aget("missing")) is None


def test_aget_or_create_creates_once_then_returns_the_stored_one(client: RunfolioClient) -> None:
    made, created = asyncio.run(
        MarkdownArtifact.aget_or_create(key="notes", description="d", markdown="# first")
    )
    assert created
    assert (made.key, made.type, made.data, made.description) == (
        "notes",
        "markdown",
        "# first",
        "d",
    )

    again, created_again = asyncio.run(
        MarkdownArtifact.aget_or_create(key="notes", markdown="# ignored")
    )
    assert not created_again
    assert (again.id, again.data) == (made.id, "# first")
    assert count(client, "notes") == 1


def test_aget_or_create_returns_an_existing_key_untouched(client: RunfolioClient) -> None:
    stored = create_markdown_artifact("# already here", key="cfg")

    found, created = asyncio.run(Artifact.aget_or_create(key="cfg", data={"x": 1}))

    assert not created
    assert (found.id, found.data) == (stored, "# already here")
    assert count(client, "cfg") == 1


def test_async_lookups_honour_the_client_argument(client: RunfolioClient, tmp_path: Path) -> None:
    other = client_for(Settings(home=tmp_path / "other", api_url=None))
    try:
        made, created = asyncio.run(Artifact.aget_or_create(key="elsewhere", data=1, client=other))
        assert created
        found = asyncio.run(Artifact.aget("elsewhere", client=other))
        assert found is not None and found.id == made.id
        assert asyncio.run(Artifact.aget("elsewhere")) is None  # not in the process-wide store
        assert count(client, "elsewhere") == 0
    finally:
        other.close()
