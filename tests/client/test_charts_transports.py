"""Chart and HTML artifacts through both transports (embedded and HTTP to a real server),
on both databases: the spec and the document come back as they were sent."""

from __future__ import annotations

import uuid

import pytest

from runfolio._charts import ChartArtifact, HtmlArtifact
from runfolio.artifacts import append_chart_values, update_chart_artifact
from runfolio.client import RunfolioClient
from runfolio.errors import NotFound


def test_chart_created_updated_and_appended(transport: RunfolioClient) -> None:
    key = f"chart-{uuid.uuid4().hex[:8]}"
    spec = {"data": {"values": [{"x": 0, "y": 0.5}]}, "mark": "line", "title": "é ✓"}
    created = ChartArtifact(key=key, spec=spec).create(client=transport)
    assert created.type == "chart" and created.data == spec
    assert transport.read_latest_artifact(key).data == spec

    append_chart_values(created.id, [{"x": 1, "y": 0.25}], client=transport)
    values = transport.read_artifact(created.id).data["data"]["values"]
    assert values == [{"x": 0, "y": 0.5}, {"x": 1, "y": 0.25}]

    update_chart_artifact(created.id, {"mark": "bar"}, client=transport)
    assert transport.read_artifact(created.id).data == {"mark": "bar"}
    with pytest.raises(NotFound):
        append_chart_values(uuid.uuid4(), {"x": 1}, client=transport)


def test_html_document_round_trips(transport: RunfolioClient) -> None:
    doc = "<!doctype html>\n<p>\u00e9 <script>1 < 2 && 3 > 2</script></p>"
    created = HtmlArtifact(html=doc).create(client=transport)
    stored = transport.read_artifact(created.id)
    assert (stored.type, stored.data) == ("html", doc)
