"""A PostgreSQL outage: while the database server is down a real runfolio server answers
503 promptly (never 500, never a hang), and once it is back service resumes by itself,
with nothing lost and no restart of runfolio.

The database server here is the test's own (started for it): it is stopped and started,
and the session's server, which the other tests share, is left alone.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from runfolio.schemas.common import new_id
from runfolio.store.engine import CONNECT_TIMEOUT, connect, is_unreachable
from tests.pg import PostgresServer, postgres_server
from tests.servers import running_server

# Every answer during the outage comes within this (the client gives up after it).
PROMPT_S = 5.0


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def _unavailable(response: httpx.Response) -> None:
    """A retry-later answer: 503, a JSON `detail`, and when to retry."""
    assert response.status_code == 503, response.text
    assert isinstance(response.json()["detail"], str)
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.server
def test_a_postgresql_outage_answers_503_and_service_resumes_by_itself(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    with (
        own_postgres.database() as url,
        running_server(tmp_path / "home", {"RUNFOLIO_DATABASE_URL": url}) as server,
        httpx.Client(base_url=server.api_url, timeout=PROMPT_S) as http,
    ):
        before = []
        for n in range(4):
            body = {"key": f"outage-{n % 2}", "type": "markdown", "data": f"# {n}"}
            created = http.post("/artifacts/", json=body)
            assert created.status_code == 201, created.text
            before.append(created.json())
        assert http.get("/ready").status_code == 200

        own_postgres.halt()  # `fast`: the pooled sessions are ended under the server
        an_id = before[0]["id"]
        held_back: dict[str, Any] = {"id": str(new_id()), "key": "outage-0", "data": "later"}
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", f"/artifacts/{an_id}", {}),  # first: a pooled connection, now dead
            ("GET", "/artifacts/outage-0/latest", {}),
            ("POST", "/artifacts/", {"json": held_back}),
            ("POST", "/artifacts/filter", {"json": {"limit": 10}}),
            ("POST", "/artifacts/latest/filter", {"json": {"sort": "KEY_ASC"}}),
            ("PATCH", f"/artifacts/{an_id}", {"json": {"data": "changed"}}),
            ("DELETE", f"/artifacts/{an_id}", {}),
        ]
        for _ in range(2):  # twice: answers stay prompt once nothing is pooled any more
            for method, path, kwargs in requests:
                started = time.monotonic()
                response = http.request(method, path, **kwargs)
                assert time.monotonic() - started < PROMPT_S
                _unavailable(response)
            ready = http.get("/ready")
            assert ready.status_code == 503
            assert ready.json() == {"message": "Database is not available"}
        assert http.get("/health").status_code == 200  # the server itself is fine

        own_postgres.resume()
        assert server.process.poll() is None  # the same server process throughout
        assert http.get("/ready").status_code == 200
        # Nothing was written during the outage, and everything from before is there.
        assert http.get(f"/artifacts/{an_id}").json() == before[0]
        stored = http.post("/artifacts/filter", json={"sort": "CREATED_DESC"})
        assert stored.status_code == 200
        assert [row["id"] for row in reversed(stored.json())] == [row["id"] for row in before]
        # The create refused during the outage, re-sent with its id, is stored now.
        resent = http.post("/artifacts/", json=held_back)
        assert resent.status_code == 201, resent.text
        assert resent.json()["id"] == held_back["id"]
        latest = http.get("/artifacts/outage-0/latest")
        assert latest.status_code == 200
        assert latest.json()["id"] == held_back["id"]
        keys = http.post("/artifacts/latest/filter", json={"sort": "KEY_ASC"}).json()
        assert [(row["key"], row["latest_id"]) for row in keys] == [
            ("outage-0", held_back["id"]),
            ("outage-1", before[3]["id"]),
        ]
        assert http.patch(f"/artifacts/{an_id}", json={"data": "changed"}).status_code == 204
        assert http.delete(f"/artifacts/{before[1]['id']}").status_code == 204

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
        output = server.process.stdout.read() if server.process.stdout else ""
    assert "database unavailable" in output  # each 503 is logged, as a warning
    assert "Traceback" not in output
    assert "unhandled error" not in output


def test_a_postgresql_server_that_does_not_answer_fails_a_connection_in_seconds(
    own_postgres: PostgresServer,
) -> None:
    """A server that accepts connections but never answers (stopped, or its host
    unreachable behind a live proxy) fails a new connection after `CONNECT_TIMEOUT`
    instead of the operating system's TCP timeout (minutes)."""
    with own_postgres.database() as url:
        engine = connect(url)
        engine.dispose()  # nothing pooled: the next use opens a connection
        pid = int((own_postgres.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGSTOP)  # the kernel still accepts; the postmaster never answers
        try:
            started = time.monotonic()
            with pytest.raises(OperationalError) as caught:
                engine.connect().close()
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
            engine.dispose()
        assert CONNECT_TIMEOUT - 1 <= waited < CONNECT_TIMEOUT + 5
        assert is_unreachable(caught.value)
