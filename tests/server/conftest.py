"""Factory fixtures for the API tests: a small wrapper that speaks one workspace's routes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from runfolio.settings import Settings
from tests.pg import DATABASES, PostgresServer, each_database
from tests.workspaces import app_with_workspaces

DEFAULT_BASE = "/api"
WORKSPACE_BASE = "/api/accounts/abc/workspaces/xyz"

ARTIFACT_FIELDS = [
    "id",
    "created",
    "updated",
    "key",
    "type",
    "description",
    "data",
    "metadata_",
    "flow_run_id",
    "task_run_id",
]
COLLECTION_FIELDS = [
    "id",
    "created",
    "updated",
    "key",
    "latest_id",
    "type",
    "description",
    "data",
    "metadata_",
    "flow_run_id",
    "task_run_id",
]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Float(float):
    """A float parsed from JSON text, so `100.0` and `100` compare different."""

    def __eq__(self, other: object) -> bool:
        return type(other) is Float and float(self) == float(other)

    def __hash__(self) -> int:
        return float.__hash__(self)


def typed_json(text: str | bytes) -> Any:
    """Parse JSON keeping the int/float distinction of the text."""
    return json.loads(text, parse_float=Float)


def typed(value: Any) -> Any:
    """What `typed_json` gives for the JSON a Python value is sent as."""
    return typed_json(json.dumps(value))


class Api:
    """The artifact routes (and friends) of one workspace, through HTTP."""

    def __init__(self, client: TestClient, base: str) -> None:
        self.client = client
        self.base = base

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    # Starlette types its TestClient against `httpx2` (not installed), so its answers read
    # as Any to a type checker: each is annotated with the httpx response it is.
    def get(self, path: str, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(self.url(path), **kw)
        return response

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        response: httpx.Response
        if json is None and "content" not in kw:
            response = self.client.post(self.url(path), **kw)
        else:
            response = self.client.post(self.url(path), json=json, **kw)
        return response

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        response: httpx.Response
        if json is None and "content" not in kw:
            response = self.client.patch(self.url(path), **kw)
        else:
            response = self.client.patch(self.url(path), json=json, **kw)
        return response

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.delete(self.url(path), **kw)
        return response

    # -- artifacts
    def create(self, **body: Any) -> dict[str, Any]:
        r = self.post("/artifacts/", json=body)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    def read(self, artifact_id: str) -> httpx.Response:
        return self.get(f"/artifacts/{artifact_id}")

    def latest(self, key: str) -> httpx.Response:
        return self.get(f"/artifacts/{key}/latest")

    def filter(self, **body: Any) -> list[dict[str, Any]]:
        r = self.post("/artifacts/filter", json=body)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()
        return items

    def latest_filter(self, **body: Any) -> list[dict[str, Any]]:
        r = self.post("/artifacts/latest/filter", json=body)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()
        return items

    def count(self, body: Any = None) -> int:
        r = self.post("/artifacts/count", json=body)
        assert r.status_code == 200, r.text
        return int(r.json())

    def latest_count(self, body: Any = None) -> int:
        r = self.post("/artifacts/latest/count", json=body)
        assert r.status_code == 200, r.text
        return int(r.json())

    def collection(self, key: str) -> dict[str, Any] | None:
        rows = self.latest_filter(artifacts={"key": {"any_": [key]}})
        assert len(rows) <= 1
        return rows[0] if rows else None

    def snapshot(self) -> tuple[Any, ...]:
        """Everything the artifact routes can see, to prove a request changed nothing."""
        return (
            self.filter(sort="ID_DESC"),
            self.latest_filter(sort="KEY_ASC"),
            self.count(),
            self.latest_count(),
        )

    # -- runs
    def flow(self, name: str = "my-flow", **body: Any) -> dict[str, Any]:
        r = self.post("/flows/", json={"name": name, **body})
        assert r.status_code in (200, 201), r.text
        flow: dict[str, Any] = r.json()
        return flow

    def flow_run(self, flow_id: str, **body: Any) -> dict[str, Any]:
        r = self.post("/flow_runs/", json={"flow_id": flow_id, **body})
        assert r.status_code == 201, r.text
        run: dict[str, Any] = r.json()
        return run

    def task_run(self, flow_run_id: str | None, **body: Any) -> dict[str, Any]:
        body = {"task_key": "my-task", "dynamic_key": "0", **body}
        r = self.post("/task_runs/", json={"flow_run_id": flow_run_id, **body})
        assert r.status_code == 201, r.text
        run: dict[str, Any] = r.json()
        return run

    def set_state(self, kind: str, run_id: str, state: str, **extra: Any) -> httpx.Response:
        return self.post(
            f"/{kind}/{run_id}/set_state", json={"state": {"type": state, **extra}, "force": False}
        )


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on the embedded SQLite file and on PostgreSQL."""
    yield from each_database(request)


@pytest.fixture
def arts(api: TestClient) -> Api:
    """The default workspace (`/api/...`)."""
    return Api(api, DEFAULT_BASE)


@pytest.fixture
def ws(api: TestClient) -> Api:
    """A named workspace (`/api/accounts/abc/workspaces/xyz/...`)."""
    return Api(api, WORKSPACE_BASE)


@pytest.fixture(params=[DEFAULT_BASE, WORKSPACE_BASE], ids=["default", "named"])
def either(api: TestClient, request: pytest.FixtureRequest) -> Api:
    """Each test using it runs once in the default and once in a named workspace."""
    return Api(api, request.param)


@pytest.fixture
def strict_arts(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The default workspace of a server with `RUNFOLIO_STRICT_ARTIFACT_DATA` on, on a
    database of its own."""
    home = settings.home.parent / "strict-home"
    with ExitStack() as stack:
        database_url = settings.database_url
        if database_url is not None:
            postgres: PostgresServer = request.getfixturevalue("postgres")
            database_url = stack.enter_context(postgres.database())
        update = {"strict_artifact_data": True, "home": home, "database_url": database_url}
        strict = settings.model_copy(update=update)
        with TestClient(app_with_workspaces(strict)) as client:
            yield Api(client, DEFAULT_BASE)


@pytest.fixture
def engine(api: TestClient) -> Engine:
    """The app's own engine, for tests that arrange rows the API cannot (equal timestamps)."""
    app_engine: Engine = api.app.state.engine  # type: ignore[attr-defined]
    return app_engine
