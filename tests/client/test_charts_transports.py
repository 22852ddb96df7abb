"""Chart and HTML artifacts through both transports (embedded and HTTP to a real server):
the spec and the document come back as they were sent."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest

from runfolio._charts import ChartArtifact, HtmlArtifact
from runfolio.artifacts import append_chart_values, update_chart_artifact
from runfolio.client import RunfolioClient, client_for
from runfolio.errors import NotFound
from runfolio.settings import Settings
from tests.servers import ServerProcess


@pytest.fixture
def database() -> str:
    """SQLite only: a chart is stored as any artifact's JSON data, which the contract
    suite writes and reads on both databases."""
    return "sqlite"


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


def test_appends_while_the_server_is_frozen_are_delivered_later(
    tmp_path: Path, module_server: ServerProcess
) -> None:
    settings = Settings(
        home=tmp_path, api_url=module_server.api_url, http_retries=0, http_write_timeout=1
    )
    client = client_for(settings)
    chart = ChartArtifact(spec={"data": {"values": []}, "mark": "line"}).create(client=client)
    append_chart_values(chart.id, {"step": 0}, client=client)
    # The server stops answering: appends go on (queued), as any write does.
    os.kill(module_server.process.pid, signal.SIGSTOP)
    try:
        for step in (1, 2, 3):
            append_chart_values(chart.id, {"step": step}, client=client)
    finally:
        os.kill(module_server.process.pid, signal.SIGCONT)
    assert client.drain_outbox() == 0
    values = client.read_artifact(chart.id).data["data"]["values"]
    assert [v["step"] for v in values] == [0, 1, 2, 3]
    client.close()
