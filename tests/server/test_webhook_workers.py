"""Several server workers share the deliveries: each event is sent exactly once (SQLite
and PostgreSQL), whichever worker claims it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.pg import PostgresServer
from tests.receivers import running_receiver
from tests.servers import free_port, running_server

pytestmark = pytest.mark.server

EVENTS = 30
FAST = {"RUNFOLIO_WEBHOOK_POLL_SECONDS": "0.05", "RUNFOLIO_WEBHOOK_RETRY_SECONDS": "0.3"}


def _each_event_once(home: Path, record: Path, env: dict[str, str]) -> None:
    with (
        running_receiver(free_port(), record) as receiver,
        running_server(home, {**FAST, **env}, args=["--workers", "2"]) as server,
        httpx.Client(base_url=server.api_url, timeout=10) as http,
    ):
        made = http.post("/webhooks/", json={"name": "w", "url": receiver.url + "/w"})
        assert made.status_code == 201, made.text
        for n in range(EVENTS):
            response = http.post("/artifacts/", json={"type": "markdown", "data": str(n)})
            assert response.status_code == 201
        calls = receiver.wait_for(EVENTS, timeout=20)
        time.sleep(1.0)  # a second worker sending any of them again would show by now
        calls = receiver.calls()
        ids = [call["headers"]["runfolio-event-id"] for call in calls]
        assert len(ids) == EVENTS == len(set(ids))
        assert sorted(json.loads(c["body"])["artifact"]["data"] for c in calls) == sorted(
            str(n) for n in range(EVENTS)
        )
        log = http.get(f"/webhooks/{made.json()['id']}/deliveries", params={"limit": 200})
        # Exactly once is what the receiver saw (above); a first call that never reached it
        # (a busy machine) may have been tried again, so attempts are not checked here.
        assert {d["status"] for d in log.json()} == {"delivered"}
        assert len(log.json()) == EVENTS


def test_two_workers_on_sqlite_send_each_event_once(tmp_path: Path) -> None:
    _each_event_once(tmp_path / "home", tmp_path / "calls.jsonl", {})


def test_two_workers_on_postgresql_send_each_event_once(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    with postgres.database() as url:
        env = {"RUNFOLIO_DATABASE_URL": url}
        _each_event_once(tmp_path / "home", tmp_path / "calls.jsonl", env)
