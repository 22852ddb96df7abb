"""Creating flows, runs, task runs and artifacts through a server's HTTP API (for UI tests),
and artifacts exactly as stored through its database file."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import Engine, literal, update

from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.store import artifacts as artifact_store
from runfolio.store.engine import write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifact_collections, artifacts
from runfolio.store.types import JSONTextAsIs


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Seed:
    """A thin client of the REST API; every call asserts success and returns the JSON."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.is_success, (
            f"{response.request.url}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def _object(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object a successful request answered with."""
        body = self._ok(response)
        assert isinstance(body, dict)
        return body

    def flow(self, name: str) -> dict[str, Any]:
        return self._object(self.http.post("/flows/", json={"name": name}))

    def flow_run(self, flow: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
        flow_id = self.flow(flow)["id"]
        body = {"flow_id": flow_id, "name": name, **fields}
        return self._object(self.http.post("/flow_runs/", json=body))

    def task_run(self, flow_run_id: str, task_key: str, **fields: Any) -> dict[str, Any]:
        body = {"flow_run_id": flow_run_id, "task_key": task_key, "dynamic_key": "0", **fields}
        return self._object(self.http.post("/task_runs/", json=body))

    def set_state(
        self, kind: str, run_id: str, state: str, at: dt.datetime | None = None
    ) -> dict[str, Any]:
        """`kind` is "flow_runs" or "task_runs"."""
        body: dict[str, Any] = {"type": state}
        if at is not None:
            body["timestamp"] = iso(at)
        return self._object(self.http.post(f"/{kind}/{run_id}/set_state", json={"state": body}))

    def artifact(self, **body: Any) -> dict[str, Any]:
        return self._object(self.http.post("/artifacts/", json=body))

    def patch(self, artifact_id: str, **body: Any) -> None:
        self._ok(self.http.patch(f"/artifacts/{artifact_id}", json=body))


def unique(prefix: str) -> str:
    """A key nobody else in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def store_as_is(
    engine: Engine,
    *,
    type: str | None,
    data_text: str,
    key: str | None = None,
    flow_run_id: str | uuid.UUID | None = None,
    task_run_id: str | uuid.UUID | None = None,
) -> str:
    """Store an artifact version whose data is `data_text` exactly, as an older server (or
    any other writer of the file) may have left it: no check of its type or depth.

    The version is created through the store with null data, then its text (and its
    key's latest-version row) is set by SQL, so even text the store could not write
    itself (1,000 levels deep) gets in.
    """
    action = ArtifactCreate.model_construct(
        key=key,
        type=type,
        data=None,
        flow_run_id=uuid.UUID(str(flow_run_id)) if flow_run_id else None,
        task_run_id=uuid.UUID(str(task_run_id)) if task_run_id else None,
    )
    as_is = literal(data_text, JSONTextAsIs())  # not encoded as JSON again
    ws = DEFAULT_WORKSPACE_ID
    with write(engine) as conn:
        artifact, _ = artifact_store.create(conn, ws, action)
        version = (artifacts.c.workspace_id == ws) & (artifacts.c.id == artifact.id)
        conn.execute(update(artifacts).where(version).values(data=as_is))
        c = artifact_collections.c
        latest = (c.workspace_id == ws) & (c.latest_id == artifact.id)
        conn.execute(update(artifact_collections).where(latest).values(data=as_is))
    return str(artifact.id)
