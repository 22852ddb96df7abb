"""Table rows appended while the server is away are queued and delivered in order."""

from __future__ import annotations

import json
from pathlib import Path

from runfolio.artifacts import append_table_rows, update_table_artifact
from runfolio.client import client_for
from runfolio.client.http import HttpClient
from runfolio.client.outbox import Outbox, default_path
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.common import new_id
from runfolio.settings import Settings
from tests.servers import free_port, running_server


def test_appends_queue_unmerged_and_arrive_in_order(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    client = client_for(Settings(home=tmp_path / "client", api_url=url))
    assert isinstance(client, HttpClient)
    table = client.create_artifact(
        ArtifactCreate(id=new_id(), key="t", type="table", data=json.dumps([{"n": 0}]))
    )
    append_table_rows(table.id, [{"n": 1}, {"n": 2}], client=client)
    append_table_rows(table.id, [{"n": 3}], client=client)
    update_table_artifact(table.id, [{"n": 10}], client=client)
    append_table_rows(table.id, [{"n": 11}], client=client)
    # An update after an append does not merge into the one before it (which would
    # move the whole-table update after the append and lose the appended row).
    client.update_artifact(table.id, ArtifactUpdate(description="done"))
    box = Outbox(default_path(tmp_path / "client"), 1 << 30)
    queued = box.head(url, 10)
    # Each append is its own record (they add rows: none may replace another).
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in queued] == [
        ("POST", ""),
        ("POST", "rows"),
        ("POST", "rows"),
        ("PATCH", str(table.id)),
        ("POST", "rows"),
        ("PATCH", str(table.id)),
    ]
    with running_server(tmp_path / "server", port=port):
        assert client.drain_outbox() == 0
        stored = client.read_artifact(table.id)
        assert json.loads(stored.data) == [{"n": 10}, {"n": 11}]
        assert stored.description == "done"
        assert stored.updated > stored.created
    client.close()
