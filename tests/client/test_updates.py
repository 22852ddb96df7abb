"""Artifacts changed in place through the SDK, on both transports and both databases."""

from __future__ import annotations

import asyncio
import json
import pickle
import uuid

import pytest
from pydantic import ValidationError

from runfolio.artifacts import (
    Artifact,
    MarkdownArtifact,
    StoredArtifact,
    TableArtifact,
    aappend_table_rows,
    append_table_rows,
    aupdate_image_artifact,
    aupdate_link_artifact,
    aupdate_markdown_artifact,
    aupdate_table_artifact,
    update_image_artifact,
    update_link_artifact,
    update_markdown_artifact,
    update_table_artifact,
)
from runfolio.client import RunfolioClient
from runfolio.errors import Invalid, NotFound
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.bodies import ArtifactFilterBody, CollectionFilterBody
from runfolio.schemas.filters import ArtifactCollectionFilter, ArtifactFilter, IdAny, KeyFilter


def _made(client: RunfolioClient, type_: str, data: object, key: str | None = None) -> uuid.UUID:
    return client.create_artifact(ArtifactCreate(key=key, type=type_, data=data)).id


def _versions(client: RunfolioClient, key: str) -> int:
    return len(
        client.filter_artifacts(
            ArtifactFilterBody(artifacts=ArtifactFilter(key=KeyFilter(any_=[key])))
        )
    )


def test_markdown_link_and_image_updates_change_the_same_version(
    transport: RunfolioClient,
) -> None:
    key = f"md-{uuid.uuid4().hex[:8]}"
    md = _made(transport, "markdown", "# first", key)
    assert update_markdown_artifact(md, "# second", client=transport) == md
    got = transport.read_artifact(md)
    assert (got.data, got.description) == ("# second", None)
    assert got.updated > got.created
    update_markdown_artifact(md, "# third", description="now", client=transport)
    got = transport.read_artifact(md)
    assert (got.data, got.description) == ("# third", "now")
    assert _versions(transport, key) == 1

    link = _made(transport, "markdown", "[a](https://a.example)")
    update_link_artifact(link, "https://b.example/x", client=transport)
    assert transport.read_artifact(link).data == "[https://b.example/x](https://b.example/x)"
    update_link_artifact(link, "https://c.example", link_text="C", client=transport)
    assert transport.read_artifact(link).data == "[C](https://c.example)"

    image = _made(transport, "image", "https://a.example/1.png")
    update_image_artifact(image, "https://a.example/2.png", client=transport)
    assert transport.read_artifact(image).data == "https://a.example/2.png"


def test_async_twins(transport: RunfolioClient) -> None:
    md = _made(transport, "markdown", "# a")
    link = _made(transport, "markdown", "[a](https://a.example)")
    image = _made(transport, "image", "https://a.example/1.png")
    table = _made(transport, "table", json.dumps([{"n": 1}]))

    async def main() -> None:
        assert await aupdate_markdown_artifact(md, "# b", "d", client=transport) == md
        await aupdate_link_artifact(link, "https://b.example", "B", client=transport)
        await aupdate_image_artifact(image, "https://a.example/2.png", client=transport)
        await aappend_table_rows(table, [{"n": 2}], client=transport)
        await aupdate_table_artifact(table, [{"m": 1}], client=transport)
        await aappend_table_rows(table, [{"m": 2}], client=transport)

    asyncio.run(main())
    assert transport.read_artifact(md).data == "# b"
    assert transport.read_artifact(link).data == "[B](https://b.example)"
    assert transport.read_artifact(image).data == "https://a.example/2.png"
    assert json.loads(transport.read_artifact(table).data) == [{"m": 1}, {"m": 2}]


def test_append_rows_shows_in_every_read(transport: RunfolioClient) -> None:
    key = f"tbl-{uuid.uuid4().hex[:8]}"
    table = TableArtifact(key=key, table=[{"a": 1, "b": "x"}]).create(client=transport)
    assert isinstance(table, StoredArtifact)
    append_table_rows(table.id, [{"a": 2, "b": "y"}], client=transport)
    append_table_rows(table.id, [{"b": "z", "a": 3}], client=transport)
    expected = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"b": "z", "a": 3}]
    assert json.loads(transport.read_artifact(table.id).data) == expected
    assert json.loads(transport.read_latest_artifact(key).data) == expected
    by_id = ArtifactFilterBody(artifacts=ArtifactFilter(id=IdAny(any_=[table.id])))
    [found] = transport.filter_artifacts(by_id)
    assert json.loads(found.data) == expected
    of_key = CollectionFilterBody(artifacts=ArtifactCollectionFilter(key=KeyFilter(any_=[key])))
    [latest] = transport.filter_latest_artifacts(of_key)
    assert latest.latest_id == table.id and json.loads(latest.data) == expected
    assert _versions(transport, key) == 1

    lists = _made(transport, "table", json.dumps([[1, 2]]))
    append_table_rows(lists, [[3, 4], (5, 6)], client=transport)
    assert json.loads(transport.read_artifact(lists).data) == [[1, 2], [3, 4], [5, 6]]

    # The whole table replaced: the appended rows go with the old one.
    update_table_artifact(table.id, [{"c": 1}], client=transport)
    assert json.loads(transport.read_artifact(table.id).data) == [{"c": 1}]


def test_bad_appends_raise_and_change_nothing(transport: RunfolioClient) -> None:
    table = _made(transport, "table", json.dumps([{"a": 1}]))
    before = transport.read_artifact(table)
    with pytest.raises(Invalid, match=r"body\.rows\.0: the row's columns \['b'\]"):
        append_table_rows(table, [{"b": 1}], client=transport)
    with pytest.raises(Invalid, match="must be an object"):
        append_table_rows(table, [[1]], client=transport)
    md = _made(transport, "markdown", "# hi")
    with pytest.raises(Invalid, match="only be appended to a table artifact"):
        append_table_rows(md, [{"a": 1}], client=transport)
    with pytest.raises(NotFound):
        append_table_rows(uuid.uuid4(), [{"a": 1}], client=transport)
    with pytest.raises(ValidationError, match="at least 1 item"):
        append_table_rows(table, [], client=transport)
    with pytest.raises(ValueError, match="rows must be a list of dicts"):
        append_table_rows(table, "not rows", client=transport)
    assert transport.read_artifact(table) == before
    with pytest.raises(NotFound):
        update_markdown_artifact(uuid.uuid4(), "# x", client=transport)


def test_stored_artifact_update(transport: RunfolioClient) -> None:
    key = f"upd-{uuid.uuid4().hex[:8]}"
    stored = MarkdownArtifact(key=key, markdown="# v1", description="d1").create(client=transport)
    stored.update(data="# v2")
    got = transport.read_artifact(stored.id)
    assert (got.data, got.description, got.metadata_) == ("# v2", "d1", None)
    stored.update(description=None, metadata_={"stage": "done"})
    got = transport.read_artifact(stored.id)
    assert (got.data, got.description, got.metadata_) == ("# v2", None, {"stage": "done"})
    assert (stored.data, stored.description, stored.metadata_) == ("# v2", None, {"stage": "done"})

    found = Artifact.get(key, client=transport)
    assert found is not None and found.id == stored.id
    asyncio.run(found.aupdate(data="# v3"))
    assert transport.read_artifact(stored.id).data == "# v3"
    assert _versions(transport, key) == 1

    table = TableArtifact(table=[{"a": 1}]).create(client=transport)
    table.update(data=[{"a": 2}, {"a": 3}])  # a table is encoded as create encodes it
    assert json.loads(transport.read_artifact(table.id).data) == [{"a": 2}, {"a": 3}]


def test_stored_artifact_equals_its_version_and_pickles(transport: RunfolioClient) -> None:
    stored = MarkdownArtifact(markdown="# v1").create(client=transport)
    read = transport.read_artifact(stored.id)
    assert stored == read and read == stored  # the version it holds, whichever class
    copy = pickle.loads(pickle.dumps(stored))  # a task's result sent to another process
    assert copy == stored
    copy.update(data="# v2", client=transport)
    assert transport.read_artifact(stored.id).data == "# v2"
    assert stored != transport.read_artifact(stored.id)  # it holds the version it read
