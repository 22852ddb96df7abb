"""One JSON error shape per kind of error, checked across every route (STYLE rule 8)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines
from tests.pg import sqlite_only
from tests.server.conftest import DEFAULT_BASE, WORKSPACE_BASE
from tests.workspaces import app_with_workspaces

U = "00000000-0000-4000-8000-0000000000ff"  # an id nothing has

# (method, path, json body) of a request refused by validation, per route.
VALIDATION = [
    ("POST", "/artifacts/", {"key": "Bad"}),
    ("PATCH", f"/artifacts/{U}", {"key": "x"}),
    ("POST", "/artifacts/filter", {"offset": -1}),
    ("POST", "/artifacts/latest/filter", {"sort": "nope"}),
    ("POST", "/artifacts/count", {"artifacts": {"bogus": 1}}),
    ("POST", "/artifacts/latest/count", {"artifacts": {"key": {"bogus_": 1}}}),
    ("POST", "/flows/", {"name": ""}),
    ("POST", "/flows/filter", {"offset": -2}),
    ("POST", "/flow_runs/", {"name": "no flow id"}),
    ("POST", f"/flow_runs/{U}/set_state", {"state": {"type": "EXPLODED"}}),
    ("POST", "/flow_runs/filter", {"sort": "sideways"}),
    ("POST", "/task_runs/", {"flow_run_id": U}),
    ("POST", f"/task_runs/{U}/set_state", {}),
    ("POST", "/task_runs/filter", {"task_runs": {"name": {"like": "x"}}}),
    ("POST", "/logs/", [{"level": "loud", "message": "m", "timestamp": "now"}]),
    ("POST", "/logs/filter", {"logs": {}}),
    ("GET", "/csrf-token", None),
]

# Requests for ids that do not exist, per route, and the detail each answers.
NOT_FOUND = [
    ("GET", f"/artifacts/{U}", None, "Artifact not found."),
    ("PATCH", f"/artifacts/{U}", {}, "Artifact not found."),
    ("DELETE", f"/artifacts/{U}", None, "Artifact not found."),
    ("GET", "/artifacts/no-such-key/latest", None, "Artifact not found."),
    ("GET", f"/flows/{U}", None, "Flow not found."),
    ("POST", "/flow_runs/", {"flow_id": U}, "Flow not found."),
    ("GET", f"/flow_runs/{U}", None, "Flow run not found."),
    ("GET", f"/flow_runs/{U}/states", None, "Flow run not found."),
    ("POST", f"/flow_runs/{U}/set_state", {"state": {"type": "RUNNING"}}, "Flow run not found."),
    ("GET", f"/task_runs/{U}", None, "Task run not found."),
    ("GET", f"/task_runs/{U}/states", None, "Task run not found."),
    ("POST", f"/task_runs/{U}/set_state", {"state": {"type": "RUNNING"}}, "Task run not found."),
    ("GET", "/artifacts/not-a-uuid", None, "Not Found"),
    ("GET", "/no/such/route", None, "Not Found"),
    ("DELETE", "/flows/not-a-uuid", None, "Not Found"),
    ("GET", "/artifacts//latest", None, "Not Found"),
]

BASES = [DEFAULT_BASE, WORKSPACE_BASE]


def _send(client: TestClient, method: str, url: str, body: Any) -> Any:
    if body is None:
        return client.request(method, url)
    return client.request(method, url, json=body)


@pytest.mark.parametrize("base", BASES)
def test_validation_errors_share_one_shape(api: TestClient, base: str) -> None:
    for method, path, body in VALIDATION:
        r = _send(api, method, base + path, body)
        assert r.status_code == 422, (method, path, r.text)
        out = r.json()
        assert list(out) == ["exception_message", "exception_detail", "request_body"], path
        assert out["exception_message"] == "Invalid request received."
        assert out["request_body"] == body, path
        assert out["exception_detail"], path
        for err in out["exception_detail"]:
            assert {"type", "loc", "msg", "input"} <= set(err), (path, err)
            assert isinstance(err["loc"], list) and err["loc"][0] in ("body", "query", "path")
            assert isinstance(err["msg"], str) and err["msg"]


@pytest.mark.parametrize("base", BASES)
def test_not_found_errors_share_one_shape(api: TestClient, base: str) -> None:
    for method, path, body, message in NOT_FOUND:
        r = _send(api, method, base + path, body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == {"detail": message}, path


@pytest.mark.parametrize("base", BASES)
def test_wrong_methods_are_405_with_a_detail(api: TestClient, base: str) -> None:
    for method, path in (("GET", "/artifacts/filter"), ("PUT", f"/artifacts/{U}")):
        r = api.request(method, base + path)
        assert r.status_code == 405, path
        assert r.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize("base", BASES)
def test_explicit_422_and_409_are_detail_strings(api: TestClient, base: str) -> None:
    for path in ("/artifacts/filter", "/artifacts/latest/filter", "/flows/filter"):
        r = api.post(base + path, json={"limit": 1000})
        assert r.status_code == 422
        assert r.json() == {"detail": "Invalid limit: must be less than or equal to 200."}
    for path in ("/flow_runs/filter", "/task_runs/filter"):
        r = api.post(base + path, json={"limit": -5})
        assert r.json() == {"detail": "Invalid limit: must be greater than or equal to 0."}
    r = api.get(base + "/csrf-token", params={"client": "x"})
    assert (r.status_code, r.json()) == (422, {"detail": "CSRF protection is disabled."})

    chosen = str(uuid.uuid4())
    assert api.post(base + "/artifacts/", json={"id": chosen, "data": 1}).status_code == 201
    r = api.post(base + "/artifacts/", json={"id": chosen, "data": 2})
    assert r.status_code == 409
    assert list(r.json()) == ["detail"] and isinstance(r.json()["detail"], str)

    flow = api.post(base + "/flows/", json={"name": "f"}).json()
    run_id = str(uuid.uuid4())
    body = {"id": run_id, "flow_id": flow["id"]}
    assert api.post(base + "/flow_runs/", json=body).status_code == 201
    # The same create again is a replay (200); the same id for another flow a conflict.
    assert api.post(base + "/flow_runs/", json=body).status_code == 200
    other = api.post(base + "/flows/", json={"name": "g"}).json()
    r = api.post(base + "/flow_runs/", json={**body, "flow_id": other["id"]})
    assert r.status_code == 409
    assert list(r.json()) == ["detail"] and isinstance(r.json()["detail"], str)


@pytest.fixture
def fragile(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    """An app whose unexpected errors are answered (not raised into the test)."""

    settings = Settings(
        home=tmp_path / "fragile", database_url=database_url, api_url=None, api_key=None
    )
    with TestClient(app_with_workspaces(settings), raise_server_exceptions=False) as client:
        yield client
    dispose_engines()


def test_unhandled_errors_are_500_with_one_shape(
    fragile: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = fragile.post("/api/artifacts/", json={"key": "k", "data": "fine"}).json()
    # A row that no longer parses (written behind the store's back) makes reads fail.
    engine = fragile.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # its json columns refuse such text
            for table in ("artifacts", "artifact_collections"):
                conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN data TYPE text"))
        conn.execute(text("UPDATE artifacts SET data = '{broken'"))
        conn.execute(text("UPDATE artifact_collections SET data = '{broken'"))
    with caplog.at_level("ERROR", logger="runfolio.server"):
        for method, path in (
            ("GET", f"/api/artifacts/{created['id']}"),
            ("GET", "/api/artifacts/k/latest"),
            ("POST", "/api/artifacts/filter"),
            ("POST", "/api/artifacts/latest/filter"),
        ):
            r = fragile.request(method, path)
            assert r.status_code == 500, path
            assert r.json() == {"exception_message": "Internal Server Error"}
    assert "unhandled error" in caplog.text
    # Routes that do not touch the broken rows still answer.
    assert fragile.post("/api/artifacts/count").json() == 1


# SQLite reports a missing table as an OperationalError (503); PostgreSQL as a
# ProgrammingError, a schema bug (500). PostgreSQL's 503 (a lock held past the write
# timeout) is test_robustness.py::test_a_held_postgresql_lock_answers_busy_and_writes_nothing.
@sqlite_only
def test_database_errors_are_503(fragile: TestClient) -> None:
    engine = fragile.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE artifact_collections"))
    r = fragile.post("/api/artifacts/latest/filter")
    assert r.status_code == 503
    assert r.json() == {"exception_message": "Service Unavailable"}
