"""The `/events/in` websocket, spoken as the 3.9.1 client speaks it (frames copied
from what that client was seen sending), in-process: handshake, task runs built
from `prefect.task-run.*` events, resends and out-of-order delivery."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

pytestmark = pytest.mark.compat

T0 = dt.datetime(2026, 11, 26, 21, 40, 56, 665753, tzinfo=dt.UTC)
STATE_NAMES = {
    "PENDING": "Pending",
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "FAILED": "Failed",
    "CRASHED": "Crashed",
}


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def task_run_event(
    task_run_id: uuid.UUID,
    flow_run_id: uuid.UUID | None,
    state_type: str,
    at: dt.datetime,
    *,
    name: str | None = None,
    message: str = "",
    run_count: int = 1,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """A `prefect.task-run.<State>` event in the shape the 3.9.1 client sends."""
    state_name = name or STATE_NAMES[state_type]
    task_run: dict[str, Any] = {
        "name": "make_link-bbd",
        "task_key": "make_link-3276058f",
        "dynamic_key": "bbd490b7-fa4e-4b52-b17f-d62f9ea61280",
        "empirical_policy": {
            "max_retries": 0,
            "retry_delay_seconds": 0.0,
            "retries": 0,
            "retry_delay": 0,
        },
        "tags": ["t1"],
        "labels": {},
        "task_inputs": {},
        "run_count": run_count,
        "flow_run_run_count": 1,
        "expected_start_time": _iso(T0),
        "total_run_time": (end - start).total_seconds() if end and start else 0.0,
    }
    if start:
        task_run["start_time"] = _iso(start)
    if end:
        task_run["end_time"] = _iso(end)
    related = []
    if flow_run_id is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": "shiny-raven",
            }
        )
    related.append(
        {
            "prefect.resource.id": f"prefect.flow.{uuid.uuid4()}",
            "prefect.resource.role": "flow",
            "prefect.resource.name": "compat-flow",
        }
    )
    return {
        "occurred": _iso(at),
        "event": f"prefect.task-run.{state_name}",
        "resource": {
            "prefect.resource.id": f"prefect.task-run.{task_run_id}",
            "prefect.resource.name": "make_link-bbd",
            "prefect.run-count": str(run_count),
            "prefect.state-message": message,
            "prefect.state-name": state_name,
            "prefect.state-timestamp": at.isoformat(),
            "prefect.state-type": state_type,
            "prefect.orchestration": "client",
        },
        "related": related,
        "payload": {
            "intended": {"from": None, "to": state_type},
            "initial_state": None,
            "validated_state": {
                "type": state_type,
                "name": state_name,
                "message": message,
                "state_details": {},
                "data": None,
            },
            "task_run": task_run,
        },
        "id": str(uuid.uuid4()),
        "follows": None,
    }


ARTIFACT_EVENT: dict[str, Any] = {
    "occurred": "2026-11-26T21:40:56.707427Z",
    "event": "prefect.artifact.created",
    "resource": {
        "prefect.resource.id": f"prefect.artifact.{uuid.uuid4()}",
        "prefect.resource.name": "compat-link",
    },
    "related": [],
    "payload": {"key": "compat-link", "type": "markdown", "description": "a link"},
    "id": str(uuid.uuid4()),
    "follows": None,
}


def send_events(api: TestClient, events: list[dict[str, Any]], base: str = "/api") -> None:
    """Send `events` over one connection and wait until the server has handled them all.

    Frames are handled in order, so a last sentinel event for another task run
    is handled last: once that run is readable, every frame before it was handled.
    """
    sentinel = uuid.uuid4()
    with api.websocket_connect(f"{base}/events/in", subprotocols=["prefect"]) as ws:
        assert ws.accepted_subprotocol == "prefect"
        ws.send_text(json.dumps({"type": "auth", "token": None}))
        assert ws.receive_json() == {"type": "auth_success"}
        for event in [*events, task_run_event(sentinel, None, "PENDING", T0)]:
            ws.send_text(json.dumps(event))
        deadline = time.monotonic() + 10
        while api.get(f"{base}/task_runs/{sentinel}").status_code != 200:
            assert time.monotonic() < deadline, "the server did not handle the events in 10 s"
            time.sleep(0.01)


def task_run(api: TestClient, run_id: uuid.UUID, base: str = "/api") -> dict[str, Any]:
    response = api.get(f"{base}/task_runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def states(api: TestClient, run_id: uuid.UUID) -> list[str]:
    response = api.get(f"/api/task_runs/{run_id}/states")
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()]


def test_handshake_answers_auth_with_a_token_too(api: TestClient) -> None:
    with api.websocket_connect("/api/events/in", subprotocols=["prefect"]) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": "user:pass"}))
        assert ws.receive_json() == {"type": "auth_success"}


def test_first_frame_must_be_auth(api: TestClient) -> None:
    with api.websocket_connect("/api/events/in", subprotocols=["prefect"]) as ws:
        ws.send_text(json.dumps(ARTIFACT_EVENT))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1008


def test_after_an_authorization_header_the_auth_message_may_be_skipped(api: TestClient) -> None:
    """Prefect's Cloud client (PREFECT_API_URL under PREFECT_CLOUD_API_URL) sends its
    key as a header on the upgrade and its events straight away, without the prefect
    subprotocol; it reads no answer."""
    run_id = uuid.uuid4()
    header = {"Authorization": "bearer pnu_ghijk"}
    with api.websocket_connect("/api/events/in", headers=header) as ws:
        assert ws.accepted_subprotocol is None
        ws.send_text(json.dumps(task_run_event(run_id, None, "PENDING", T0)))
        deadline = time.monotonic() + 10
        while api.get(f"/api/task_runs/{run_id}").status_code != 200:
            assert time.monotonic() < deadline, "the first event was not recorded in 10 s"
            time.sleep(0.01)
    assert task_run(api, run_id)["state_type"] == "PENDING"


def test_pending_running_completed_build_a_task_run(api: TestClient) -> None:
    run_id, flow_run_id = uuid.uuid4(), uuid.uuid4()
    start, end = T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=3)
    send_events(
        api,
        [
            task_run_event(run_id, flow_run_id, "PENDING", T0, run_count=0),
            task_run_event(run_id, flow_run_id, "RUNNING", start, start=start),
            ARTIFACT_EVENT,
            task_run_event(run_id, flow_run_id, "COMPLETED", end, start=start, end=end),
        ],
    )
    run = task_run(api, run_id)
    assert run["flow_run_id"] == str(flow_run_id)
    assert run["name"] == "make_link-bbd"
    assert run["task_key"] == "make_link-3276058f"
    assert run["dynamic_key"] == "bbd490b7-fa4e-4b52-b17f-d62f9ea61280"
    assert run["tags"] == ["t1"]
    assert run["state_type"] == "COMPLETED"
    assert run["state_name"] == "Completed"
    assert run["state"]["type"] == "COMPLETED"
    assert run["state"]["state_details"]["task_run_id"] == str(run_id)
    assert run["run_count"] == 1
    assert run["start_time"] == _iso(start)
    assert run["end_time"] == _iso(end)
    assert run["expected_start_time"] == _iso(T0)
    assert run["total_run_time"] == pytest.approx(2.0)
    assert states(api, run_id) == ["Pending", "Running", "Completed"]


def test_failed_state_keeps_its_message(api: TestClient) -> None:
    run_id = uuid.uuid4()
    message = "Task run encountered an exception RuntimeError: kaboom"
    send_events(
        api,
        [
            task_run_event(run_id, uuid.uuid4(), "RUNNING", T0, start=T0),
            task_run_event(run_id, None, "FAILED", T0 + dt.timedelta(seconds=1), message=message),
        ],
    )
    run = task_run(api, run_id)
    assert run["state_type"] == "FAILED"
    assert run["state"]["message"] == message
    assert run["end_time"] is not None


def test_out_of_order_events_never_reopen_a_finished_run(api: TestClient) -> None:
    run_id, flow_run_id = uuid.uuid4(), uuid.uuid4()
    start, end = T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=2)
    completed = task_run_event(run_id, flow_run_id, "COMPLETED", end, start=start, end=end)
    send_events(
        api,
        [
            completed,
            task_run_event(run_id, flow_run_id, "RUNNING", start, start=start),
            task_run_event(run_id, flow_run_id, "PENDING", T0, run_count=0),
            # A reconnecting client resends what it had no confirmation for.
            completed,
        ],
    )
    run = task_run(api, run_id)
    assert run["state_type"] == "COMPLETED"
    assert run["end_time"] == _iso(end)
    assert sorted(states(api, run_id)) == ["Completed", "Pending", "Running"]


def test_a_later_running_event_does_not_reopen_a_finished_run(api: TestClient) -> None:
    run_id = uuid.uuid4()
    send_events(
        api,
        [
            task_run_event(run_id, None, "COMPLETED", T0, start=T0, end=T0),
            task_run_event(run_id, None, "RUNNING", T0 + dt.timedelta(seconds=5)),
        ],
    )
    assert task_run(api, run_id)["state_type"] == "COMPLETED"


def test_retrying_is_a_running_state(api: TestClient) -> None:
    run_id = uuid.uuid4()
    send_events(
        api,
        [
            task_run_event(run_id, None, "RUNNING", T0, start=T0),
            task_run_event(
                run_id, None, "RUNNING", T0 + dt.timedelta(seconds=1), name="Retrying", run_count=2
            ),
        ],
    )
    run = task_run(api, run_id)
    assert (run["state_type"], run["state_name"], run["run_count"]) == ("RUNNING", "Retrying", 2)
    assert run["start_time"] == _iso(T0)


def test_bad_and_unknown_frames_are_dropped_without_closing(api: TestClient) -> None:
    run_id = uuid.uuid4()
    unknown_state = task_run_event(run_id, None, "RUNNING", T0)
    unknown_state["payload"]["validated_state"]["type"] = "SOMETHING"
    huge_id = uuid.uuid4()
    huge_count = task_run_event(huge_id, None, "RUNNING", T0, run_count=2**63)
    send_events(
        api,
        [
            {"not": "an event"},
            unknown_state,
            huge_count,  # past the 32-bit column: refused at the edge, not failed in the store
            {**ARTIFACT_EVENT, "event": "prefect.flow-run.heartbeat"},
            task_run_event(run_id, None, "COMPLETED", T0, start=T0, end=T0),
        ],
    )
    assert task_run(api, run_id)["state_type"] == "COMPLETED"
    assert api.get(f"/api/task_runs/{huge_id}").status_code == 404


def test_workspace_prefix_records_in_that_workspace(api: TestClient) -> None:
    run_id = uuid.uuid4()
    base = "/api/accounts/acme/workspaces/prod"
    send_events(api, [task_run_event(run_id, None, "COMPLETED", T0, start=T0, end=T0)], base)
    assert task_run(api, run_id, base)["state_type"] == "COMPLETED"
    assert api.get(f"/api/task_runs/{run_id}").status_code == 404
