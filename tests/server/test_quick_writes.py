"""Quick writes (an artifact create, a PATCH): inline on the event loop when SQLite's write
lock is free at once, on the writer thread otherwise; never a wait on the loop."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runfolio.server import concurrency
from runfolio.settings import Settings
from runfolio.store.engine import WouldWait, connect, without_waiting, write
from tests.workspaces import app_with_workspaces


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(home=tmp_path / "home", api_url=None, api_key=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(app_with_workspaces(_settings(tmp_path, write_timeout=1.0))) as client:
        yield client


def _gate(client: TestClient) -> concurrency.Gate:
    gate: concurrency.Gate = client.app.state.gate  # type: ignore[attr-defined]
    return gate


class _HeldLock:
    """SQLite's write lock held by another connection (as a script or the CLI would)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> _HeldLock:
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *_: object) -> None:
        self.db.execute("ROLLBACK")
        self.db.close()


def _warm(client: TestClient) -> int:
    # The server's own start-up writes (webhook claims, a retention pass) take the writer
    # thread for a moment, and a quick write meeting one goes there too: begin after them.
    # They come back about once a second, so the counts below allow a stray one.
    assert client.post("/api/artifacts/", json={"data": "warm-up"}).status_code == 201
    time.sleep(0.2)
    return _gate(client)._inline_writes


def test_creates_and_patches_run_inline_when_the_lock_is_free(quick: TestClient) -> None:
    before = _warm(quick)
    for n in range(5):
        made = quick.post("/api/artifacts/", json={"key": "k", "type": "progress", "data": n})
        assert made.status_code == 201, made.text
        patched = quick.patch(f"/api/artifacts/{made.json()['id']}", json={"data": 50 + n})
        assert patched.status_code == 204, patched.text
        assert quick.get(f"/api/artifacts/{made.json()['id']}").json()["data"] == 50 + n
    assert _gate(quick)._inline_writes - before >= 9


def test_a_held_lock_sends_the_write_to_the_thread_which_answers_busy(
    quick: TestClient, tmp_path: Path
) -> None:
    before = _warm(quick)
    with _HeldLock(tmp_path / "home" / "runfolio.db"):
        started = time.monotonic()
        refused = quick.post("/api/artifacts/", json={"key": "k", "data": "held"})
        assert refused.status_code == 503, refused.text
        assert "busy" in refused.json()["detail"]
        assert time.monotonic() - started < 5  # the write timeout (1 s), not a hang
        assert _gate(quick)._inline_writes == before  # the try did not count as a write
    # Nothing was written, and once the lock is free writes go inline again.
    stored = quick.post("/api/artifacts/filter", json={}).json()
    assert [a["data"] for a in stored] == ["warm-up"]
    for _ in range(3):
        assert quick.post("/api/artifacts/", json={"key": "k", "data": "free"}).status_code == 201
    assert _gate(quick)._inline_writes - before >= 2


def test_bad_input_on_the_quick_path_is_the_usual_422_and_writes_nothing(
    quick: TestClient,
) -> None:
    _warm(quick)
    bad = quick.post("/api/artifacts/", json={"key": "Not A Key", "data": 1})
    assert bad.status_code == 422
    assert bad.json()["exception_detail"][0]["loc"][:2] == ["body", "key"]
    missing = quick.patch("/api/artifacts/01a227fa-e6f0-7662-a1e5-2a0633293abb", json={"data": 1})
    assert missing.status_code == 404
    assert [a["data"] for a in quick.post("/api/artifacts/filter", json={}).json()] == ["warm-up"]


def test_synchronous_full_keeps_every_write_on_the_thread(tmp_path: Path) -> None:
    with TestClient(app_with_workspaces(_settings(tmp_path, sqlite_synchronous="FULL"))) as client:
        for _ in range(3):
            assert client.post("/api/artifacts/", json={"data": 1}).status_code == 201
        assert _gate(client)._inline_writes == 0
        assert client.post("/api/artifacts/count", json={}).json() == 3


def test_inline_writes_leave_the_checkpoint_to_the_writer_thread(
    quick: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(concurrency, "CHECKPOINT_EVERY", 20)
    db_file = tmp_path / "home" / "runfolio.db"
    _warm(quick)
    with sqlite3.connect(db_file) as probe:
        probe.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # start from an empty WAL
    size = db_file.stat().st_size
    big = "x" * 20_000  # several pages per version, so the WAL grows past the file
    while _gate(quick)._inline_writes % 20 != 19:
        assert quick.post("/api/artifacts/", json={"data": big}).status_code == 201
    assert db_file.stat().st_size == size  # inline commits do not checkpoint
    assert quick.post("/api/artifacts/", json={"data": big}).status_code == 201  # the 20th
    deadline = time.monotonic() + 10
    while db_file.stat().st_size == size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db_file.stat().st_size > size  # the writer thread copied the WAL in


def test_without_waiting_refuses_at_once_and_restores_the_connection(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}", write_timeout=2.0)
    try:
        with _HeldLock(tmp_path / "db.sqlite"):
            started = time.monotonic()
            with pytest.raises(WouldWait), without_waiting(), write(engine):
                pass
            assert time.monotonic() - started < 0.5
        # The pooled connection waits again as configured, and checkpoints again.
        with write(engine) as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 2000
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 4000
        # One try per block: a second write in it waits as any write does.
        with without_waiting():
            with write(engine) as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 0
            with write(engine) as conn:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 2000
    finally:
        engine.dispose()


def test_a_write_while_another_is_being_served_takes_the_thread(quick: TestClient) -> None:
    gate = _gate(quick)
    before = _warm(quick)
    assert gate.write_requests == 0  # counted while served, 422s and 404s included
    gate.write_requests += 1  # another client's write, mid-request
    try:
        for _ in range(3):
            assert quick.post("/api/artifacts/", json={"data": "busy"}).status_code == 201
        assert gate._inline_writes == before  # concurrent writes pipeline through the thread
    finally:
        gate.write_requests -= 1
    assert quick.post("/api/artifacts/", json={"key": "Bad Key", "data": 1}).status_code == 422
    assert quick.get("/api/artifacts/01a227fa-e6f0-7662-a1e5-2a0633293abb").status_code == 404
    assert gate.write_requests == 0
    for _ in range(3):
        assert quick.post("/api/artifacts/", json={"data": "alone"}).status_code == 201
    assert gate._inline_writes - before >= 2
