"""Four server workers on one PostgreSQL database, written to by eight client processes at
once: creates, re-sent creates (the same client-chosen id) and deletes of a few keys'
versions. Afterwards every acknowledged version that was not deleted is stored exactly
once, and each key's latest is its newest remaining version, through every route that
reads it.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from runfolio.schemas.common import new_id
from tests.pg import PostgresServer
from tests.server.test_workers import _worker_pids
from tests.servers import running_server

pytestmark = pytest.mark.server

WORKERS = 4
CLIENTS = 8
CREATES_PER_CLIENT = 30
KEYS = tuple(f"pg-workers-{n}" for n in range(5))
DEADLINE_S = 60  # the clients' share of it; each request's own timeout is 10 s


def _send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, re-sent as is while the server answers 503 (busy: retry)."""
    for _ in range(40):
        response = client.request(method, url, **kwargs)
        if response.status_code != 503:
            return response
        time.sleep(0.05)
    return response


def _client(api_url: str, number: int) -> dict[str, Any]:
    """One client process's work: what was acknowledged and deleted, and what went wrong.

    Every third create is re-sent with the same id (a retry after a lost answer: 200, the
    same artifact); every fourth version is deleted right away, often the key's latest,
    so the key's latest moves back while other clients write the same key.
    """
    acknowledged: dict[str, str] = {}  # id -> key
    deleted: list[str] = []
    failures: list[str] = []
    with httpx.Client(base_url=api_url, timeout=10) as http:
        for n in range(CREATES_PER_CLIENT):
            key = KEYS[(number + n) % len(KEYS)]
            body = {"id": str(new_id()), "key": key, "type": "markdown", "data": f"{number}/{n}"}
            created = _send(http, "POST", "/artifacts/", json=body)
            if created.status_code != 201 or created.json()["id"] != body["id"]:
                failures.append(f"create {created.status_code}: {created.text}")
                continue
            acknowledged[body["id"]] = key
            if n % 3 == 0:
                again = _send(http, "POST", "/artifacts/", json=body)
                if again.status_code != 200 or again.json() != created.json():
                    failures.append(f"re-sent create {again.status_code}: {again.text}")
            if n % 4 == 3:
                gone = _send(http, "DELETE", f"/artifacts/{body['id']}")
                if gone.status_code != 204:
                    failures.append(f"delete {gone.status_code}: {gone.text}")
                    continue
                del acknowledged[body["id"]]
                deleted.append(body["id"])
    return {"acknowledged": acknowledged, "deleted": deleted, "failures": failures}


def _store_order(row: dict[str, Any]) -> tuple[dt.datetime, uuid.UUID]:
    """The store's order of a key's versions: created, then id (the later is the newer)."""
    return dt.datetime.fromisoformat(row["created"]), uuid.UUID(row["id"])


def _all_versions(http: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = http.post("/artifacts/filter", json={"sort": "ID_DESC", "offset": len(rows)})
        assert page.status_code == 200, page.text
        rows += page.json()
        if not page.json():
            return rows


def test_four_workers_and_eight_clients_on_postgresql(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    with (
        postgres.database() as url,
        running_server(
            tmp_path / "home", {"RUNFOLIO_DATABASE_URL": url}, args=["--workers", str(WORKERS)]
        ) as server,
    ):
        assert len(_worker_pids(server.process.pid)) == WORKERS
        # Spawned, not forked: a clean interpreter per client, nothing of pytest's state.
        context = multiprocessing.get_context("spawn")
        with context.Pool(CLIENTS) as pool:
            results = pool.starmap_async(
                _client, [(server.api_url, number) for number in range(CLIENTS)]
            ).get(timeout=DEADLINE_S)

        failures = [failure for result in results for failure in result["failures"]]
        assert not failures, failures
        acknowledged: dict[str, str] = {}
        deleted: set[str] = set()
        for result in results:
            acknowledged.update(result["acknowledged"])
            deleted.update(result["deleted"])
        assert len(acknowledged) + len(deleted) == CLIENTS * CREATES_PER_CLIENT

        with httpx.Client(base_url=server.api_url, timeout=10) as http:
            rows = _all_versions(http)
            stored = [row["id"] for row in rows]
            assert len(stored) == len(set(stored))  # each version once
            assert set(stored) == set(acknowledged)  # every one acknowledged, none deleted
            assert {row["id"]: row["key"] for row in rows} == acknowledged

            collections = http.post("/artifacts/latest/filter", json={"sort": "KEY_ASC"})
            assert collections.status_code == 200
            by_key = {row["key"]: row for row in collections.json()}
            assert sorted(by_key) == sorted(KEYS)
            for key in KEYS:
                newest = max((row for row in rows if row["key"] == key), key=_store_order)
                latest = http.get(f"/artifacts/{key}/latest")
                assert latest.status_code == 200
                assert latest.json() == newest, key
                # The key's row mirrors that version, and filtering on the key finds it.
                assert by_key[key]["latest_id"] == newest["id"]
                assert by_key[key]["data"] == newest["data"]
                one = http.post(
                    "/artifacts/latest/filter", json={"artifacts": {"key": {"any_": [key]}}}
                )
                assert [row["latest_id"] for row in one.json()] == [newest["id"]]
