"""Chart and HTML artifacts from the SDK, on an embedded database."""

from __future__ import annotations

import asyncio
import math
import threading
import uuid
from typing import Any

import pytest

from runfolio import flow
from runfolio._charts import CHART_SPEC_MAX_BYTES, HTML_MAX_BYTES
from runfolio.artifacts import (
    aappend_chart_values,
    acreate_chart_artifact,
    acreate_html_artifact,
    append_chart_values,
    aupdate_chart_artifact,
    create_chart_artifact,
    create_html_artifact,
    create_markdown_artifact,
    update_chart_artifact,
)
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.schemas.bodies import ArtifactCountBody


@pytest.fixture
def database_url() -> None:
    """SQLite only: the SQL is the one every artifact write runs, and
    tests/client/test_charts_transports.py covers both databases and transports."""
    return None


def spec(values: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "data": {"values": values if values is not None else [{"step": 0, "loss": 1.0}]},
        "mark": "line",
        "encoding": {
            "x": {"field": "step", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative"},
        },
    }


class FakeAltairChart:
    """What the SDK relies on from an Altair chart: `to_dict()` (Altair is not needed)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def count(client: RunfolioClient) -> int:
    return client.count_artifacts(ArtifactCountBody())


def test_chart_from_a_dict_or_an_altair_like_object(client: RunfolioClient) -> None:
    from_dict = create_chart_artifact(spec(), key="loss", description="Training loss")
    stored = client.read_artifact(from_dict)
    assert (stored.type, stored.key, stored.description) == ("chart", "loss", "Training loss")
    assert stored.data == spec()

    from_altair = create_chart_artifact(FakeAltairChart(spec([{"step": 1, "loss": 0.5}])))
    assert client.read_artifact(from_altair).data == spec([{"step": 1, "loss": 0.5}])


def test_chart_nan_and_infinity_become_null(client: RunfolioClient) -> None:
    values = [{"step": 0, "loss": math.nan}, {"step": 1, "loss": math.inf}]
    artifact_id = create_chart_artifact(spec(values))
    stored = client.read_artifact(artifact_id).data["data"]["values"]
    assert stored == [{"step": 0, "loss": None}, {"step": 1, "loss": None}]


@pytest.mark.parametrize(
    ("bad", "error", "says"),
    [
        ([1, 2], TypeError, "chart spec must be a dict"),
        ("{}", TypeError, "chart spec must be a dict"),
        (None, TypeError, "chart spec must be a dict"),
        (FakeAltairChart([1]), TypeError, "got list"),  # type: ignore[arg-type]
        ({"data": {"values": [{"when": object()}]}}, TypeError, "not JSON-serialisable"),
        ({"data": {"values": [{"x": "a" * CHART_SPEC_MAX_BYTES}]}}, ValueError, "the limit is"),
    ],
)
def test_bad_chart_specs_are_refused_and_store_nothing(
    client: RunfolioClient, bad: Any, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        create_chart_artifact(bad)
    assert count(client) == 0


@pytest.mark.parametrize(
    ("bad", "error", "says"),
    [
        (b"<p>bytes</p>", TypeError, "html must be a string"),
        (None, TypeError, "html must be a string"),
        ("x" * (HTML_MAX_BYTES + 1), ValueError, "the limit is"),
    ],
)
def test_bad_html_is_refused_and_stores_nothing(
    client: RunfolioClient, bad: Any, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        create_html_artifact(bad)
    assert count(client) == 0


def test_html_artifact_is_stored_as_given(client: RunfolioClient) -> None:
    doc = "<!doctype html><p>Hello <b>é</b></p><script>1</script>"
    artifact_id = create_html_artifact(doc, key="report", description="d")
    stored = client.read_artifact(artifact_id)
    assert (stored.type, stored.data, stored.key) == ("html", doc, "report")


def test_update_chart_in_place_keeps_the_id_and_version_count(client: RunfolioClient) -> None:
    artifact_id = create_chart_artifact(spec(), key="live-loss")
    assert update_chart_artifact(artifact_id, spec([{"step": 9, "loss": 0.1}])) == artifact_id
    stored = client.read_artifact(artifact_id)
    assert stored.data == spec([{"step": 9, "loss": 0.1}])
    assert count(client) == 1
    update_chart_artifact(artifact_id, FakeAltairChart(spec([])), description="done")
    stored = client.read_artifact(artifact_id)
    assert stored.data == spec([]) and stored.description == "done"

    with pytest.raises(TypeError, match="chart spec must be a dict"):
        update_chart_artifact(artifact_id, "nope")
    assert client.read_artifact(artifact_id).data == spec([])
    with pytest.raises(NotFound):
        update_chart_artifact(uuid.uuid4(), spec())


def test_append_chart_values_inline_and_to_a_named_dataset(client: RunfolioClient) -> None:
    artifact_id = create_chart_artifact(spec([]))
    for step in range(3):
        append_chart_values(artifact_id, {"step": step, "loss": 1 / (step + 1)})
    append_chart_values(artifact_id, [{"step": 3, "loss": 0.2}, {"step": 4, "loss": 0.1}])
    values = client.read_artifact(artifact_id).data["data"]["values"]
    assert [v["step"] for v in values] == [0, 1, 2, 3, 4]

    named = {"data": {"name": "train"}, "datasets": {"train": []}, "mark": "line"}
    named_id = create_chart_artifact(named)
    append_chart_values(named_id, {"step": 0}, dataset="train")
    append_chart_values(named_id, {"step": 0}, dataset="valid")  # made when missing
    data = client.read_artifact(named_id).data
    assert data["datasets"] == {"train": [{"step": 0}], "valid": [{"step": 0}]}
    assert data["data"] == {"name": "train"}

    # A spec without data gets inline values.
    bare_id = create_chart_artifact({"mark": "point"})
    append_chart_values(bare_id, {"a": 1})
    assert client.read_artifact(bare_id).data["data"] == {"values": [{"a": 1}]}


def test_append_chart_values_refuses_what_it_cannot_append_to(client: RunfolioClient) -> None:
    chart_id = create_chart_artifact(spec())
    before = client.read_artifact(chart_id).data
    with pytest.raises(TypeError, match="values must be a dict"):
        append_chart_values(chart_id, [1, 2])
    with pytest.raises(TypeError, match="values must be a dict"):
        append_chart_values(chart_id, "step=1")
    url_id = create_chart_artifact({"data": {"url": "data.csv"}, "mark": "point"})
    with pytest.raises(ValueError, match="not inline values"):
        append_chart_values(url_id, {"a": 1})
    markdown_id = create_markdown_artifact("# not a chart")
    with pytest.raises(ValueError, match="not 'chart'"):
        append_chart_values(markdown_id, {"a": 1})
    with pytest.raises(NotFound):
        append_chart_values(uuid.uuid4(), {"a": 1})
    assert client.read_artifact(chart_id).data == before
    assert client.read_artifact(url_id).data == {"data": {"url": "data.csv"}, "mark": "point"}


def test_async_twins(client: RunfolioClient) -> None:
    async def main() -> tuple[uuid.UUID, uuid.UUID]:
        chart_id = await acreate_chart_artifact(spec([]), key="async-chart")
        await aupdate_chart_artifact(chart_id, spec([{"step": 1, "loss": 1.0}]))
        await aappend_chart_values(chart_id, {"step": 2, "loss": 0.5})
        html_id = await acreate_html_artifact("<p>hi</p>")
        return chart_id, html_id

    chart_id, html_id = asyncio.run(main())
    assert [v["step"] for v in client.read_artifact(chart_id).data["data"]["values"]] == [1, 2]
    assert client.read_artifact(html_id).data == "<p>hi</p>"


def test_a_chart_inside_a_flow_carries_its_run(client: RunfolioClient) -> None:
    @flow
    def training() -> uuid.UUID:
        chart_id = create_chart_artifact(spec([]), key="run-loss")
        for step in range(2):
            append_chart_values(chart_id, {"step": step, "loss": 1.0})
        return chart_id

    chart_id = training()
    stored = client.read_artifact(chart_id)
    assert stored.flow_run_id is not None
    assert len(stored.data["data"]["values"]) == 2


def test_appends_from_many_threads_lose_no_point(client: RunfolioClient) -> None:
    chart_id = create_chart_artifact(spec([]))

    def writer(w: int) -> None:
        for i in range(10):
            append_chart_values(chart_id, {"step": w * 100 + i, "loss": 0.5})

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = client.read_artifact(chart_id).data["data"]["values"]
    assert sorted(v["step"] for v in values) == sorted(
        w * 100 + i for w in range(6) for i in range(10)
    )


def test_appended_points_are_copied_and_nan_becomes_null(client: RunfolioClient) -> None:
    chart_id = create_chart_artifact(spec([]))
    point = {"step": 0, "loss": math.nan}
    append_chart_values(chart_id, point)
    point["step"] = 99  # the caller's dict changes later: what was appended does not
    append_chart_values(chart_id, {"step": 1, "loss": 0.5})
    values = client.read_artifact(chart_id).data["data"]["values"]
    assert values == [{"step": 0, "loss": None}, {"step": 1, "loss": 0.5}]


def test_an_update_between_appends_is_built_upon(client: RunfolioClient) -> None:
    chart_id = create_chart_artifact(spec([]))
    append_chart_values(chart_id, {"step": 0, "loss": 1.0})
    update_chart_artifact(chart_id, spec([{"step": 10, "loss": 0.1}]))
    append_chart_values(chart_id, {"step": 11, "loss": 0.05})
    values = client.read_artifact(chart_id).data["data"]["values"]
    assert [v["step"] for v in values] == [10, 11]
