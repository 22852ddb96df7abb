"""No request can poison, crash or freeze the server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from runfolio.client.embedded import EmbeddedClient
from runfolio.schemas.bodies import ArtifactFilterBody, CollectionFilterBody
from runfolio.schemas.common import MAX_JSON_DEPTH
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines, write
from runfolio.store.tables import workspaces
from tests.server.conftest import Api
from tests.servers import running_server
from tests.workspaces import app_with_workspaces, create_workspaces


def _nested(depth: int) -> Any:
    return json.loads("[" * depth + "]" * depth)


# -- nesting depth --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 256, 900])
def test_deep_data_is_refused_naming_the_limit(either: Api, depth: int) -> None:
    before = either.snapshot()
    r = either.post("/artifacts/", json={"key": "deep", "data": _nested(depth)})
    assert r.status_code == 422, r.text
    (err,) = r.json()["exception_detail"]
    assert err["type"] == "json_too_deep"
    assert str(MAX_JSON_DEPTH) in err["msg"] and "data" in err["msg"]
    assert either.snapshot() == before
    assert either.latest("deep").status_code == 404


def test_data_just_within_the_limit_is_stored(arts: Api) -> None:
    data = _nested(MAX_JSON_DEPTH - 1)  # the body object is one level more
    created = arts.create(key="deep", data=data)
    assert arts.read(created["id"]).json()["data"] == data


def test_deep_run_parameters_and_patches_are_refused(arts: Api) -> None:
    flow = arts.post("/flows/", json={"name": "f"}).json()
    r = arts.post("/flow_runs/", json={"flow_id": flow["id"], "parameters": {"p": _nested(300)}})
    assert r.status_code == 422 and "parameters.p" in r.json()["exception_detail"][0]["msg"]
    target = arts.create(key="k", data="x")
    r = arts.patch(f"/artifacts/{target['id']}", json={"data": _nested(300)})
    assert r.status_code == 422
    assert arts.read(target["id"]).json()["data"] == "x"


def test_a_stored_row_too_deep_to_serve_does_not_break_listings(
    arts: Api, engine: Engine, settings: Settings
) -> None:
    """A row written before depth was bounded (here: written straight to the table)."""
    good = arts.create(key="good", data="fine")
    poisoned = arts.create(key="deep", data="placeholder")
    deep_text = "[" * 600 + "]" * 600
    with write(engine) as conn:
        for table in ("artifacts", "artifact_collections"):
            conn.execute(text(f"UPDATE {table} SET data = :d WHERE key = 'deep'"), {"d": deep_text})
    listing = arts.filter()
    assert {row["key"]: row["data"] for row in listing} == {"good": "fine", "deep": None}
    latest = arts.post("/artifacts/latest/filter", json={}).json()
    assert {row["key"] for row in latest} == {"good", "deep"}
    assert arts.latest("deep").json()["data"] is None
    assert arts.read(poisoned["id"]).status_code == 200
    assert arts.read(good["id"]).json()["data"] == "fine"
    # The embedded transport (what the CLI and scripts use) reads the same rows.
    client = EmbeddedClient(settings)
    try:
        assert len(client.filter_artifacts(ArtifactFilterBody())) == 2
        assert len(client.filter_latest_artifacts(CollectionFilterBody())) == 2
    finally:
        client.close()


# -- workspaces ------------------------------------------------------------------------


def _workspace_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(workspaces)).scalar_one())


def test_unknown_workspaces_are_not_found_and_never_created(api: Any, engine: Engine) -> None:
    before = _workspace_rows(engine)
    for i in range(20):
        base = f"/api/accounts/probe/workspaces/w{i}"
        assert api.get(f"{base}/artifacts/{uuid.uuid4()}").status_code == 404
        r = api.post(f"{base}/artifacts/filter", json={})
        assert r.status_code == 404 and r.json() == {"detail": f"Workspace not found: probe/w{i}"}
        assert api.post(f"{base}/artifacts/count", json={}).status_code == 404
        assert api.get(f"{base}/artifacts/k/latest").status_code == 404
        # Writes do not bring a workspace into being either: an admin creates them.
        r = api.post(f"{base}/artifacts/", json={"key": "k", "data": "x"})
        assert r.status_code == 404 and r.json() == {"detail": f"Workspace not found: probe/w{i}"}
        assert api.post(f"{base}/flows/", json={"name": "f"}).status_code == 404
    assert _workspace_rows(engine) == before
    create_workspaces(engine, "probe/w0")
    base = "/api/accounts/probe/workspaces/w0"
    assert api.post(f"{base}/artifacts/", json={"key": "k", "data": "x"}).status_code == 201
    assert len(api.post(f"{base}/artifacts/filter", json={}).json()) == 1


def test_workspace_names_past_the_column_are_not_found(api: Any) -> None:
    r = api.post(f"/api/accounts/a/workspaces/{'w' * 201}/artifacts/filter", json={})
    assert r.status_code == 404 and "200" in r.json()["detail"]


def test_an_artifact_cannot_name_a_run_of_another_workspace(arts: Api, ws: Api) -> None:
    flow = arts.post("/flows/", json={"name": "f"}).json()
    run = arts.post("/flow_runs/", json={"flow_id": flow["id"]}).json()
    task = arts.post(
        "/task_runs/", json={"flow_run_id": run["id"], "task_key": "t", "dynamic_key": "0"}
    ).json()
    before = ws.snapshot()
    for field, value in (("flow_run_id", run["id"]), ("task_run_id", task["id"])):
        r = ws.post("/artifacts/", json={"key": "k", "data": "x", field: value})
        assert r.status_code == 422, r.text
        (err,) = r.json()["exception_detail"]
        assert err["loc"] == ["body", field] and "another workspace" in err["msg"]
    assert ws.snapshot() == before
    # In its own workspace the same reference is fine; so is a run not recorded (yet).
    assert arts.create(key="k", flow_run_id=run["id"], task_run_id=task["id"])
    assert ws.create(key="k", flow_run_id=str(uuid.uuid4()))


# -- a write lock held by another process ------------------------------------------


_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE artifacts SET description = 'held' WHERE 0")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


# SQLite's file lock, held by a plain sqlite3 connection (PostgreSQL's: the next test).
@pytest.mark.server
def test_a_held_write_lock_neither_freezes_reads_nor_hangs_writes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_server(home, {"RUNFOLIO_WRITE_TIMEOUT": "1"}) as server:
        api = server.api_url
        created = httpx.post(f"{api}/artifacts/", json={"key": "k", "data": "v1"}).json()
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(home / "runfolio.db"), "10"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            held_since = time.monotonic()
            with httpx.Client(base_url=api, timeout=5) as client:
                # Writes: a bounded wait, then 503 with Retry-After; nothing written.
                started = time.monotonic()
                r = client.post("/artifacts/", json={"key": "k", "data": "v2"})
                assert r.status_code == 503, r.text
                assert int(r.headers["retry-after"]) >= 1
                assert "busy" in r.json()["detail"]
                assert time.monotonic() - started < 4
                # Meanwhile health, reads and the UI answer at once, many times over.
                for _ in range(20):
                    started = time.monotonic()
                    assert client.get("/health").status_code == 200
                    assert client.get(f"/artifacts/{created['id']}").status_code == 200
                    assert client.post("/artifacts/latest/filter", json={}).status_code == 200
                    assert httpx.get(f"{server.url}/artifacts", timeout=5).status_code == 200
                    assert time.monotonic() - started < 1.5
                assert time.monotonic() - held_since < 10, "the lock was released early"
        finally:
            holder.wait(timeout=30)
            if holder.stdout:
                holder.stdout.close()
        # Once the lock is free, writes go through again; the refused one left nothing.
        r = httpx.post(f"{api}/artifacts/", json={"key": "k", "data": "v3"})
        assert r.status_code == 201
        versions = httpx.post(f"{api}/artifacts/filter", json={}).json()
        assert sorted(v["data"] for v in versions) == ["v1", "v3"]
    with sqlite3.connect(home / "runfolio.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# PostgreSQL's own locks: the SQLite test above holds SQLite's file lock instead.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_held_postgresql_lock_answers_busy_and_writes_nothing(settings: Settings) -> None:
    assert settings.database_url is not None
    quick = settings.model_copy(update={"write_timeout": 1.0})
    with TestClient(app_with_workspaces(quick)) as client:
        arts = Api(client, "/api")
        created = arts.create(key="k", data="v1")
        dsn = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as holder:  # a transaction, held until the block ends
            holder.execute("LOCK TABLE artifact_collections IN EXCLUSIVE MODE")
            started = time.monotonic()
            r = arts.post("/artifacts/", json={"key": "k", "data": "v2"})
            assert r.status_code == 503, r.text
            assert int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"]
            assert time.monotonic() - started < 4
            # Reads do not wait for it.
            assert arts.read(created["id"]).status_code == 200
            assert arts.latest("k").json()["data"] == "v1"
        assert arts.post("/artifacts/", json={"key": "k", "data": "v3"}).status_code == 201
        assert sorted(v["data"] for v in arts.filter()) == ["v1", "v3"]
    dispose_engines()


def test_the_nul_character_is_stored_or_refused_by_field_never_a_500(
    arts: Api, database_url: str | None
) -> None:
    """SQLite stores NUL in text; PostgreSQL cannot, so there it is a 422 at the field."""
    body = {"key": "k", "data": "a\u0000b", "description": "d\u0000"}
    before = arts.snapshot()
    r = arts.post("/artifacts/", json=body)
    if database_url is None or database_url.startswith("sqlite"):
        assert r.status_code == 201, r.text
        assert arts.read(r.json()["id"]).json()["description"] == "d\u0000"
        return
    assert r.status_code == 422, r.text
    # JSON data holds it escaped (`\u0000`), so the text column is what refuses it.
    (err,) = r.json()["exception_detail"]
    assert err["type"] == "string_nul" and err["loc"] == ["body", "description"]
    assert arts.snapshot() == before
