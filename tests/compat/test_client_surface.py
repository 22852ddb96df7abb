"""Details the 3.9.1 client relies on that no other suite covers, in-process:
auth headers accepted and ignored, and the artifact a persisted result implies."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.compat

CLIENT_HEADERS = {"User-Agent": "prefect/3.9.1 (API 0.8.4)", "X-PREFECT-API-VERSION": "0.8.4"}
AUTH = [
    {},
    {"Authorization": "Bearer pnu_ghijk"},
    {"Authorization": "Basic " + base64.b64encode(b"user:pass").decode()},
]


@pytest.mark.parametrize("auth", AUTH, ids=["none", "bearer", "basic"])
def test_auth_headers_are_accepted(api: TestClient, auth: dict[str, str]) -> None:
    headers = {**CLIENT_HEADERS, **auth}
    assert api.get("/api/admin/version", headers=auth).json() == "3.9.1"
    csrf = api.get(f"/api/csrf-token?client={uuid.uuid4()}", headers=headers)
    assert (csrf.status_code, csrf.json()) == (422, {"detail": "CSRF protection is disabled."})
    created = api.post("/api/artifacts/", json={"key": "k", "data": "x"}, headers=headers)
    assert created.status_code == 201
    found = api.post("/api/artifacts/filter", json={"limit": 1}, headers=headers)
    assert [a["id"] for a in found.json()] == [created.json()["id"]]


def _flow_run(api: TestClient) -> str:
    flow = api.post("/api/flows/", json={"name": "results", "tags": [], "labels": {}}).json()
    run = api.post("/api/flow_runs/", json={"flow_id": flow["id"]})
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    return run_id


def _complete(api: TestClient, run_id: str, data: Any) -> list[dict[str, Any]]:
    body = {"state": {"type": "COMPLETED", "name": "Completed", "data": data}, "force": False}
    answer = api.post(f"/api/flow_runs/{run_id}/set_state", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "ACCEPT"
    found = api.post(
        "/api/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )
    artifacts: list[dict[str, Any]] = found.json()
    return artifacts


RESULT = {
    "storage_key": "/tmp/storage/043867b6",
    "expiration": None,
    "serializer": {"type": "pickle", "picklelib": "cloudpickle", "picklelib_version": None},
    "prefect_version": "3.9.1",
    "storage_block_id": None,
}


def test_persisted_result_is_recorded_as_an_artifact(api: TestClient) -> None:
    run_id = _flow_run(api)
    [artifact] = _complete(api, run_id, RESULT)
    assert artifact["data"] == RESULT
    assert (artifact["key"], artifact["type"], artifact["description"]) == (None, None, None)
    assert (artifact["flow_run_id"], artifact["task_run_id"]) == (run_id, None)


def test_names_in_the_result_are_taken_out_and_used(api: TestClient) -> None:
    run_id = _flow_run(api)
    data = {
        **RESULT,
        "artifact_key": "my-result",
        "artifact_type": "result",
        "artifact_description": "the answer",
    }
    [artifact] = _complete(api, run_id, data)
    assert (artifact["key"], artifact["type"], artifact["description"]) == (
        "my-result",
        "result",
        "the answer",
    )
    assert artifact["data"] == RESULT
    assert api.get("/api/artifacts/my-result/latest").json()["id"] == artifact["id"]


def test_a_result_key_that_breaks_the_key_rule_is_dropped(api: TestClient) -> None:
    run_id = _flow_run(api)
    [artifact] = _complete(api, run_id, {**RESULT, "artifact_key": "Not Valid"})
    assert artifact["key"] is None
    assert artifact["data"] == RESULT


@pytest.mark.parametrize("data", [None, {"type": "unpersisted"}], ids=["null", "unpersisted"])
def test_no_artifact_without_persisted_data(api: TestClient, data: Any) -> None:
    run_id = _flow_run(api)
    assert _complete(api, run_id, data) == []
    assert api.get(f"/api/flow_runs/{run_id}").json()["state_type"] == "COMPLETED"
