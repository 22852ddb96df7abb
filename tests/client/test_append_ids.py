"""The SDK's appends carry a fresh id, so an append whose answer was lost (the server
stored it, the client never heard) is queued, delivered again and stored once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from runfolio.artifacts import aappend_table_rows, append_table_rows
from runfolio.client import RunfolioClient, client_for
from runfolio.client.http import HttpClient
from runfolio.client.outbox import Outbox, default_path
from runfolio.schemas.appends import RowsAppend
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.common import new_id
from runfolio.settings import Settings
from tests.servers import ServerProcess


class _LosesFirstAppendAnswer(BaseHTTPRequestHandler):
    """Passes every request on to the server; for the first append it hangs up instead
    of answering, after the server has stored it (an answer lost on the way back)."""

    upstream: ClassVar[str] = ""
    appends: ClassVar[list[bytes]] = []
    lock = threading.Lock()

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {"Content-Type": "application/json"} if body else {}
        answer = httpx.request(
            method, self.upstream + self.path, content=body, headers=headers, timeout=10
        )
        if self.path.endswith("/rows"):
            with self.lock:
                self.appends.append(body)
                first = len(self.appends) == 1
            if first:
                self.close_connection = True  # stored, and no answer
                return
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._forward("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._forward("POST")

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _lossy_proxy(server: ServerProcess) -> Iterator[str]:
    _LosesFirstAppendAnswer.upstream = server.url
    _LosesFirstAppendAnswer.appends = []
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _LosesFirstAppendAnswer)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/api"
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()


@pytest.mark.server
def test_an_append_whose_answer_was_lost_is_resent_and_stored_once(
    module_server: ServerProcess, tmp_path: Path
) -> None:
    with _lossy_proxy(module_server) as url:
        client = client_for(Settings(home=tmp_path / "client", api_url=url))
        assert isinstance(client, HttpClient)
        table = client.create_artifact(
            ArtifactCreate(id=new_id(), key="lost", type="table", data=json.dumps([{"n": 0}]))
        )
        append_table_rows(table.id, [{"n": 1}, {"n": 2}], client=client)
        assert client.drain_outbox() == 0
        sent = _LosesFirstAppendAnswer.appends
        # Sent twice (the first answer never came), the same body both times: the same id.
        assert len(sent) == 2 and sent[0] == sent[1]
        assert json.loads(sent[0])["rows"] == [{"n": 1}, {"n": 2}]
        stored = client.read_artifact(table.id)
        assert json.loads(stored.data) == [{"n": 0}, {"n": 1}, {"n": 2}]
        client.close()


def test_the_queued_append_carries_its_id_and_replaying_it_stores_once(
    module_server: ServerProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=module_server.api_url, timeout=10) as http:
        made = http.post(
            "/artifacts/", json={"type": "table", "data": json.dumps([{"n": 0}])}
        ).json()
        # Queued while the server is away (nothing listens on port 9 of loopback).
        offline = client_for(Settings(home=tmp_path / "c", api_url="http://127.0.0.1:9/api"))
        append_table_rows(made["id"], [{"n": 1}], client=offline)
        append_table_rows(made["id"], [{"n": 1}], client=offline)  # a second call: its own id
        offline.close()
        queued = Outbox(default_path(tmp_path / "c"), 1 << 30).head("http://127.0.0.1:9/api", 10)
        bodies = [json.loads(record.body or b"") for record in queued]
        assert [set(body) for body in bodies] == [{"id", "rows"}] * 2
        assert bodies[0]["id"] != bodies[1]["id"]
        for body in (bodies[0], bodies[0], bodies[1], bodies[1]):
            r = http.post(f"/artifacts/{made['id']}/rows", json=body)
            assert r.status_code == 200, r.text
        data = json.loads(http.get(f"/artifacts/{made['id']}").json()["data"])
        assert data == [{"n": 0}, {"n": 1}, {"n": 1}]


def test_both_transports_store_a_resent_append_once(transport: RunfolioClient) -> None:
    table = transport.create_artifact(
        ArtifactCreate(id=new_id(), type="table", data=json.dumps([{"n": 0}]))
    )
    action = RowsAppend(id=new_id(), rows=[{"n": 1}])
    first = transport.append_table_rows(table.id, action)
    again = transport.append_table_rows(table.id, action)
    assert first is not None and again == first
    # The SDK's own calls are distinct appends, each with a fresh id.
    append_table_rows(table.id, [{"n": 2}], client=transport)
    asyncio.run(aappend_table_rows(table.id, [{"n": 2}], client=transport))
    stored = transport.read_artifact(table.id)
    assert json.loads(stored.data) == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 2}]
