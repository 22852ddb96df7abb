"""The artifact functions and classes, on an embedded database."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import uuid

import pytest

from runfolio import flow, task
from runfolio.artifacts import (
    Artifact,
    TableArtifact,
    acreate_markdown_artifact,
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.schemas.artifacts import Artifact as StoredArtifact
from runfolio.schemas.bodies import ArtifactCountBody, ArtifactFilterBody
from runfolio.schemas.filters import ArtifactFilter, KeyFilter
from runfolio.schemas.sorting import ArtifactSort

KEY_RULE = "Artifact key must only contain lowercase letters, numbers, and dashes."


def count(client: RunfolioClient) -> int:
    return client.count_artifacts(ArtifactCountBody())


def versions(client: RunfolioClient, key: str) -> list[StoredArtifact]:
    body = ArtifactFilterBody(
        artifacts=ArtifactFilter(key=KeyFilter(any_=[key])), sort=ArtifactSort.CREATED_DESC
    )
    return client.filter_artifacts(body)


def test_each_type_inside_a_task_carries_both_run_ids(client: RunfolioClient) -> None:
    @task
    def publish() -> dict[str, uuid.UUID]:
        return {
            "link": create_link_artifact("https://example.com/x", link_text="Example", key="lnk"),
            "md": create_markdown_artifact("# Hi", key="md", description="desc"),
            "table": create_table_artifact([{"a": 1}], key="tbl"),
            "image": create_image_artifact("https://example.com/i.png", key="img"),
            "progress": create_progress_artifact(42.5, key="prog"),
        }

    @flow
    def pipeline() -> dict[str, uuid.UUID]:
        return publish()

    ids = pipeline()
    runs = {client.read_artifact(i).task_run_id for i in ids.values()}
    assert len(runs) == 1 and None not in runs
    stored = {name: client.read_artifact(i) for name, i in ids.items()}
    assert (stored["link"].type, stored["link"].data) == (
        "markdown",
        "[Example](https://example.com/x)",
    )
    assert (stored["md"].type, stored["md"].data, stored["md"].description) == (
        "markdown",
        "# Hi",
        "desc",
    )
    assert (stored["table"].type, stored["table"].data) == ("table", '[{"a": 1}]')
    assert (stored["image"].type, stored["image"].data) == ("image", "https://example.com/i.png")
    assert (stored["progress"].type, stored["progress"].data) == ("progress", 42.5)
    flow_run_ids = {a.flow_run_id for a in stored.values()}
    assert len(flow_run_ids) == 1 and None not in flow_run_ids
    task_run_id = stored["md"].task_run_id
    assert task_run_id is not None
    task_run = client.read_task_run(task_run_id)
    assert task_run.flow_run_id == stored["md"].flow_run_id


def test_in_flow_body_only_flow_run_id_and_outside_none(client: RunfolioClient) -> None:
    @flow
    def body() -> uuid.UUID:
        return create_markdown_artifact("x")

    in_flow = client.read_artifact(body())
    assert in_flow.flow_run_id is not None and in_flow.task_run_id is None
    outside = client.read_artifact(create_markdown_artifact("y"))
    assert outside.flow_run_id is None and outside.task_run_id is None


def test_link_without_text_uses_the_url(client: RunfolioClient) -> None:
    artifact = client.read_artifact(create_link_artifact("https://example.com/y"))
    assert artifact.data == "[https://example.com/y](https://example.com/y)"


@pytest.mark.parametrize(
    ("table", "encoded"),
    [
        (
            [{"a": 1, "b": math.nan}, {"a": 2, "c": "z"}],
            '[{"a": 1, "b": null}, {"a": 2, "c": "z"}]',
        ),
        ({"a": [1, 2], "b": [math.nan, 3.5]}, '{"a": [1, 2], "b": [null, 3.5]}'),
        ([[1, "x", math.nan], [2, "y", None]], '[[1, "x", null], [2, "y", null]]'),
        ([{"n": {"deep": math.nan}, "inf": math.inf}], '[{"n": {"deep": null}, "inf": null}]'),
        (((1, 2), (3, -math.inf)), "[[1, 2], [3, null]]"),
        ([{"name": "café"}], '[{"name": "caf\\u00e9"}]'),
    ],
)
def test_table_encodings(client: RunfolioClient, table: object, encoded: str) -> None:
    artifact = client.read_artifact(create_table_artifact(table))
    assert artifact.data == encoded
    json.loads(artifact.data)  # valid JSON: no NaN or Infinity tokens


def test_table_from_a_dataframe(client: RunfolioClient) -> None:
    import pandas

    frame = pandas.DataFrame({"id": [1, 2], "score": [0.5, float("nan")], "name": ["a", "b"]})
    artifact = client.read_artifact(create_table_artifact(frame, key="frame"))
    assert json.loads(artifact.data) == [
        {"id": 1, "score": 0.5, "name": "a"},
        {"id": 2, "score": None, "name": "b"},
    ]


@pytest.mark.parametrize("table", ["text", [1, 2, 3], 5, {"a": 1}, [{"a": 1}, [1]]])
def test_unsupported_table_shapes_fail_before_writing(
    client: RunfolioClient, table: object
) -> None:
    with pytest.raises(ValueError, match="table must be"):
        create_table_artifact(table, key="bad")
    assert count(client) == 0


def test_non_serialisable_data_fails_before_writing(client: RunfolioClient) -> None:
    import datetime as dt

    with pytest.raises(TypeError, match="not JSON-serialisable"):
        create_table_artifact([{"when": dt.datetime.now()}])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        Artifact(data={1, 2}).create()
    assert count(client) == 0


@pytest.mark.parametrize("key", ["Upper", "under_score", "", "nl\n", "with space", "dot.s"])
def test_invalid_keys_fail_before_writing(client: RunfolioClient, key: str) -> None:
    with pytest.raises(ValueError, match=KEY_RULE):
        create_markdown_artifact("x", key=key)
    assert count(client) == 0


def test_progress_coercion_clamping_and_errors(
    client: RunfolioClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.read_artifact(create_progress_artifact("42")).data == 42.0  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="runfolio.artifacts"):
        high = create_progress_artifact(150)
        low = create_progress_artifact(-3)
    assert client.read_artifact(high).data == 100.0
    assert client.read_artifact(low).data == 0.0
    warnings = [r.getMessage() for r in caplog.records if r.name == "runfolio.artifacts"]
    assert len(warnings) == 4 and "150" in warnings[0] and "100.0" in warnings[1]
    before = count(client)
    for bad in ("abc", math.nan, None):
        with pytest.raises(ValueError, match="progress must be a number"):
            create_progress_artifact(bad)  # type: ignore[arg-type]
    assert count(client) == before


def test_progress_updates_in_place(client: RunfolioClient) -> None:
    progress_id = create_progress_artifact(0.0, key="load", description="start")
    for value in (10, 55.5, 120):
        assert update_progress_artifact(progress_id, value) == progress_id
    update_progress_artifact(progress_id, 99, description="almost")
    update_progress_artifact(progress_id, 100, description="")  # empty: description kept
    stored = client.read_artifact(progress_id)
    assert (stored.data, stored.description) == (100.0, "almost")
    assert len(versions(client, "load")) == 1
    assert client.read_latest_artifact("load").data == 100.0
    with pytest.raises(NotFound):
        update_progress_artifact(uuid.uuid4(), 5)


def test_versions_by_key_and_get(client: RunfolioClient) -> None:
    first = create_markdown_artifact("v1", key="report")
    second = create_markdown_artifact("v2", key="report")
    assert [a.id for a in versions(client, "report")] == [second, first]
    latest = Artifact.get("report")
    assert latest is not None and latest.id == second and latest.data == "v2"
    assert Artifact.get("missing") is None
    assert Artifact.get("not_a_valid_key") is None  # lookups never raise on odd keys
    assert Artifact.get().id == second  # type: ignore[union-attr]


def test_get_or_create_and_generic_create(client: RunfolioClient) -> None:
    made, created = Artifact.get_or_create(key="cfg", data={"x": [1, 2]}, type="config")
    assert created and made.data == '{"x": [1, 2]}' and made.type == "config"
    again, created_again = Artifact.get_or_create(key="cfg", data={"x": [3]})
    assert not created_again and again.id == made.id
    stored = TableArtifact(table=[[1, 2]], key="t", description="d").create()
    assert (stored.type, stored.data, stored.key) == ("table", "[[1, 2]]", "t")
    with pytest.raises(ValueError):
        Artifact(unknown_field=1)  # type: ignore[call-arg]


def test_async_flow_awaits_the_same_names(client: RunfolioClient) -> None:
    @task
    async def publish(i: int) -> uuid.UUID:
        await asyncio.sleep(0.01 * (3 - i))
        # Here the sync name returns a coroutine (its static type is the sync result).
        pending: object = create_markdown_artifact(f"# {i}", key=f"async-{i}")
        assert inspect.isawaitable(pending)
        artifact_id: uuid.UUID = await pending
        return artifact_id

    @flow
    async def pipeline() -> list[uuid.UUID]:
        return list(await asyncio.gather(*(publish(i) for i in range(3))))

    ids = asyncio.run(pipeline())
    stored = [client.read_artifact(i) for i in ids]
    assert [a.data for a in stored] == ["# 0", "# 1", "# 2"]
    assert len({a.task_run_id for a in stored}) == 3  # each task kept its own context
    names = {client.read_task_run(a.task_run_id).name for a in stored}  # type: ignore[arg-type]
    assert names == {"publish-0", "publish-1", "publish-2"}


def test_explicit_async_variant_outside_a_run(client: RunfolioClient) -> None:
    artifact_id = asyncio.run(acreate_markdown_artifact("# async", key="a-md"))
    assert client.read_artifact(artifact_id).data == "# async"
