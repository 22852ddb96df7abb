"""Acknowledged artifact writes survive `kill -9` of a real server in the middle of writing.

Rounds of: start `runfolio server start` on the same RUNFOLIO_HOME, let concurrent
writers create and delete versions, SIGKILL the server while requests are in flight.
Every create carries a client-chosen id, so the writers know exactly which versions
were acknowledged; a request cut off by the kill may or may not have landed and is
only recorded as unknown. After a last restart the API must show every acknowledged
create that was not deleted, none of the acknowledged deletes, and a latest version
per key that agrees with the versions that remain.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from runfolio.schemas.common import new_id
from tests.servers import ServerProcess, running_server

pytestmark = pytest.mark.server

KEYS = ["dur-a", "dur-b", "dur-c", "dur-d", "dur-e"]
WRITERS = 4
ROUNDS = 3
# Each round's kill comes after these seconds of writing, or earlier once this many
# writes were acknowledged (a cap for fast machines that keeps the final checks short).
KILL_AFTER_S = (1.0, 1.2, 1.4)
KILL_AFTER_ACKS = 300
# A writer never outlives its round by more than this, even if the kill is not seen.
WRITER_DEADLINE_S = 5.0
PAGE = 200


@pytest.fixture
def start_server() -> Iterator[Callable[[Path], ServerProcess]]:
    """Starts servers on demand; every one still alive at the end is SIGKILLed."""
    started: list[ServerProcess] = []
    with ExitStack() as stack:

        def start(home: Path) -> ServerProcess:
            proc = stack.enter_context(running_server(home))
            started.append(proc)
            return proc

        try:
            yield start
        finally:
            # Kill first so teardown never waits on a graceful stop of a stuck server.
            for proc in started:
                if proc.process.poll() is None:
                    proc.process.kill()
                    proc.process.wait(timeout=10)


class Writer:
    """Creates and deletes its own versions, keeping a ledger that spans the rounds."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.acked: dict[uuid.UUID, str] = {}  # acknowledged creates: id -> key
        self.deleted: set[uuid.UUID] = set()  # acknowledged deletes
        self.unknown: set[uuid.UUID] = set()  # cut off by the kill: either outcome is fine
        self.unexpected: list[str] = []
        self.in_request = False  # between sending a request and reading its answer
        self.acks_this_round = 0

    def present(self) -> list[uuid.UUID]:
        return [i for i in self.acked if i not in self.deleted and i not in self.unknown]

    def run_round(self, api_url: str, stop: threading.Event) -> None:
        """Write until the server dies (or `stop`, or the deadline)."""
        self.acks_this_round = 0
        deadline = time.monotonic() + WRITER_DEADLINE_S
        with httpx.Client(base_url=api_url, timeout=5) as http:
            while not stop.is_set() and time.monotonic() < deadline:
                if not self._step(http):
                    return

    def _step(self, http: httpx.Client) -> bool:
        """One create or delete; False once the server is gone."""
        present = self.present()
        if present and self.rng.random() < 0.3:
            # Half the deletes hit this writer's newest version, often its key's latest.
            target = present[-1] if self.rng.random() < 0.5 else self.rng.choice(present)
            return self._send(http, target, "DELETE", f"/artifacts/{target}", None, (204,))
        artifact_id = new_id()
        body = {
            "id": str(artifact_id),
            "key": self.rng.choice(KEYS),
            "type": "markdown",
            "data": f"# version {artifact_id}",
        }
        return self._send(http, artifact_id, "POST", "/artifacts/", body, (201, 200))

    def _send(
        self,
        http: httpx.Client,
        artifact_id: uuid.UUID,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        ok: tuple[int, ...],
    ) -> bool:
        self.in_request = True
        try:
            r = http.request(method, path, json=body)
        except httpx.ConnectError:
            return False  # never reached the server: nothing to record
        except httpx.TransportError:
            self.unknown.add(artifact_id)
            return False
        finally:
            self.in_request = False
        if r.status_code not in ok:
            self.unknown.add(artifact_id)
            self.unexpected.append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
            return True
        if method == "POST":
            self.acked[artifact_id] = body["key"] if body else ""
        else:
            self.deleted.add(artifact_id)
        self.acks_this_round += 1
        return True


def _versions(http: httpx.Client, key: str) -> list[dict[str, Any]]:
    """Every version of `key`, page by page (nothing writes while this runs)."""
    rows: list[dict[str, Any]] = []
    while True:
        body = {
            "artifacts": {"key": {"any_": [key]}},
            "sort": "ID_DESC",
            "limit": PAGE,
            "offset": len(rows),
        }
        r = http.post("/artifacts/filter", json=body)
        assert r.status_code == 200, r.text
        rows.extend(r.json())
        if len(r.json()) < PAGE:
            return rows


def _newest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda r: (dt.datetime.fromisoformat(r["created"]), uuid.UUID(r["id"])))


# SQLite only: with the server killed, durability is SQLite's (its WAL and `synchronous`
# setting); on PostgreSQL it is the database server's, and the tests' runs with fsync off.
def test_acknowledged_writes_survive_kill_9(
    tmp_path: Path, start_server: Callable[[Path], ServerProcess]
) -> None:
    home = tmp_path / "home"
    writers = [Writer(seed) for seed in range(WRITERS)]
    in_flight_at_kills = 0

    for round_no in range(ROUNDS):
        server = start_server(home)
        stop = threading.Event()
        threads = [
            threading.Thread(target=w.run_round, args=(server.api_url, stop), daemon=True)
            for w in writers
        ]
        began = time.monotonic()
        for t in threads:
            t.start()
        while (
            time.monotonic() - began < KILL_AFTER_S[round_no]
            and sum(w.acks_this_round for w in writers) < KILL_AFTER_ACKS
        ):
            time.sleep(0.005)
        in_flight_at_kills += sum(w.in_request for w in writers)
        server.process.kill()  # SIGKILL: no shutdown handler, no final checkpoint
        server.process.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=WRITER_DEADLINE_S + 5)
            assert not t.is_alive()

    unexpected = [line for w in writers for line in w.unexpected]
    assert not unexpected, unexpected
    # The kills did land in the middle of requests, or the test proves little.
    assert in_flight_at_kills > 0

    acked = {i: key for w in writers for i, key in w.acked.items()}
    deleted = set().union(*(w.deleted for w in writers))
    unknown = set().union(*(w.unknown for w in writers))
    kept = {i: key for i, key in acked.items() if i not in deleted and i not in unknown}
    sent = set(acked) | unknown
    assert kept and deleted, "the rounds wrote too little to check anything"

    server = start_server(home)
    with httpx.Client(base_url=server.api_url, timeout=10) as http:
        for artifact_id, key in kept.items():
            r = http.get(f"/artifacts/{artifact_id}")
            assert r.status_code == 200, f"acknowledged create {artifact_id} lost: {r.text}"
            assert r.json()["key"] == key
        for artifact_id in deleted:
            r = http.get(f"/artifacts/{artifact_id}")
            assert r.status_code == 404, f"acknowledged delete {artifact_id} came back"

        body = {"artifacts": {"key": {"any_": KEYS}}, "limit": PAGE}
        r = http.post("/artifacts/latest/filter", json=body)
        assert r.status_code == 200, r.text
        collections = {row["key"]: row for row in r.json()}

        for key in KEYS:
            rows = _versions(http, key)
            ids = {uuid.UUID(row["id"]) for row in rows}
            assert {i for i, k in kept.items() if k == key} <= ids
            # Only versions this test sent, and none whose delete was acknowledged.
            assert ids <= sent and not ids & deleted
            latest = http.get(f"/artifacts/{key}/latest")
            if not rows:
                assert latest.status_code == 404, latest.text
                assert key not in collections
                continue
            newest = _newest(rows)
            assert latest.status_code == 200, latest.text
            assert latest.json() == newest
            assert collections[key]["latest_id"] == newest["id"]
            assert collections[key]["data"] == newest["data"]
