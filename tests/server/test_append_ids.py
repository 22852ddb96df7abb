"""Appends carrying a client-chosen id are stored once: a retry after a lost answer (or an
outbox redelivery) adds nothing and answers what the first delivery answered; the same id
with other rows is a 409 that changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from runfolio.schemas.common import new_id
from runfolio.store.engine import read
from runfolio.store.tables import artifact_row_appends
from tests.pg import PostgresServer
from tests.server.conftest import Api
from tests.servers import running_server


def _table(api: Api, rows: Any, key: str | None = "tbl") -> dict[str, Any]:
    return api.create(key=key, type="table", data=json.dumps(rows))


def _append(api: Api, artifact_id: str, rows: Any, append_id: str | None) -> httpx.Response:
    body: dict[str, Any] = {"rows": rows}
    if append_id is not None:
        body["id"] = append_id
    return api.post(f"/artifacts/{artifact_id}/rows", json=body)


def _data(api: Api, artifact_id: str) -> Any:
    return json.loads(api.read(artifact_id).json()["data"])


def test_a_replayed_append_is_stored_once_and_answered_the_same(either: Api) -> None:
    made = _table(either, [{"a": 1}])
    append_id = str(new_id())
    first = _append(either, made["id"], [{"a": 2}, {"a": 3}], append_id)
    assert first.status_code == 200, first.text
    assert first.json() == {"artifact_id": made["id"], "appended": 2, "rows_appended": 2}
    updated = either.read(made["id"]).json()["updated"]
    again = _append(either, made["id"], [{"a": 2}, {"a": 3}], append_id)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert _data(either, made["id"]) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert either.read(made["id"]).json()["updated"] == updated  # nothing was written

    # A later append moves the total; a replay of the first then says its own count and
    # the current total (what a read of the table would show).
    later = _append(either, made["id"], [{"a": 4}], str(new_id()))
    assert later.json()["rows_appended"] == 3
    replay = _append(either, made["id"], [{"a": 2}, {"a": 3}], append_id)
    assert replay.json() == {"artifact_id": made["id"], "appended": 2, "rows_appended": 3}
    assert _data(either, made["id"]) == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]


def test_the_same_id_with_other_rows_is_a_conflict_that_changes_nothing(arts: Api) -> None:
    made = _table(arts, [{"a": 1}])
    append_id = str(new_id())
    assert _append(arts, made["id"], [{"a": 2}], append_id).status_code == 200
    before = (arts.snapshot(), arts.read(made["id"]).json())
    for rows in ([{"a": 9}], [{"a": 2}, {"a": 2}], [[2]]):
        r = _append(arts, made["id"], rows, append_id)
        assert r.status_code == 409, r.text
        assert "body.id" in r.json()["detail"] and append_id in r.json()["detail"]
    assert (arts.snapshot(), arts.read(made["id"]).json()) == before
    assert _data(arts, made["id"]) == [{"a": 1}, {"a": 2}]


def test_ids_are_per_artifact_and_appends_without_one_still_add(arts: Api) -> None:
    one = _table(arts, [{"a": 1}], key="one")
    two = _table(arts, [{"a": 1}], key="two")
    append_id = str(new_id())
    assert _append(arts, one["id"], [{"a": 2}], append_id).json()["rows_appended"] == 1
    # Another artifact's append of the same id is its own.
    assert _append(arts, two["id"], [{"a": 2}], append_id).json()["rows_appended"] == 1
    assert _data(arts, two["id"]) == [{"a": 1}, {"a": 2}]
    # Without an id, each call adds (an older client's appends keep working).
    assert _append(arts, one["id"], [{"a": 3}], None).json()["rows_appended"] == 2
    assert _append(arts, one["id"], [{"a": 3}], None).json()["rows_appended"] == 3
    assert _data(arts, one["id"]) == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 3}]


def test_a_bad_id_is_refused(arts: Api) -> None:
    made = _table(arts, [{"a": 1}])
    r = _append(arts, made["id"], [{"a": 2}], "not-a-uuid")
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["exception_detail"]] == [["body", "id"]]
    assert _data(arts, made["id"]) == [{"a": 1}]


def test_a_replay_writes_no_second_append_row(arts: Api, engine: Engine) -> None:
    made = _table(arts, [{"a": 1}])
    append_id = str(new_id())
    for _ in range(3):
        assert _append(arts, made["id"], [{"a": 2}], append_id).status_code == 200
    a = artifact_row_appends.c
    with read(engine) as conn:
        stored = conn.execute(
            select(a.client_id, a.row_count).where(a.artifact_id == uuid.UUID(made["id"]))
        ).all()
    assert [tuple(row) for row in stored] == [(uuid.UUID(append_id), 1)]


@contextmanager
def _server_env(database: str, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The server's environment: its own SQLite file, or a fresh PostgreSQL database."""
    if database == "sqlite":
        yield {}
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    with postgres.database() as url:
        yield {"RUNFOLIO_DATABASE_URL": url}


# -- the same append sent at once, by several connections, to a server of two workers --


def _send(client: httpx.Client, url: str, body: Any) -> httpx.Response:
    """One request, re-sent as is while the server answers 503 (busy: retry)."""
    for _ in range(40):
        response = client.post(url, json=body)
        if response.status_code != 503:
            return response
        time.sleep(0.05)
    return response


def _at_once(api_url: str, path: str, body: Any, senders: int) -> list[httpx.Response]:
    """`body` sent by `senders` threads at once, each on its own connection."""
    start = threading.Barrier(senders)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=api_url, timeout=10) as own:
            start.wait()
            answer = _send(own, path, body)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


@pytest.mark.server
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_identical_appends_at_once_are_stored_once(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    senders = 8
    with (
        _server_env(database, request) as env,
        running_server(tmp_path / "home", env, args=["--workers", "2"]) as server,
        httpx.Client(base_url=server.api_url, timeout=10) as http,
    ):
        made = http.post(
            "/artifacts/", json={"key": "t", "type": "table", "data": json.dumps([{"n": 0}])}
        )
        assert made.status_code == 201, made.text
        table = made.json()["id"]
        for round_ in range(3):
            body = {"id": str(new_id()), "rows": [{"n": round_}, {"n": -round_}]}
            answers = _at_once(server.api_url, f"/artifacts/{table}/rows", body, senders)
            assert len(answers) == senders
            expected = {"artifact_id": table, "appended": 2, "rows_appended": 2 * (round_ + 1)}
            assert [(a.status_code, a.json()) for a in answers] == [(200, expected)] * senders
        data = json.loads(http.get(f"/artifacts/{table}").json()["data"])
        assert data == [{"n": 0}, {"n": 0}, {"n": 0}, {"n": 1}, {"n": -1}, {"n": 2}, {"n": -2}]
