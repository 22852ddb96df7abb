"""Writes delivered more than once are stored once (the SDK's outbox resends a write when
it cannot tell whether the server committed it): client-chosen ids make a resend a replay
that writes nothing and answers what the first delivery answered; an id another run (or
workspace) holds is a 409 that writes nothing."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import pytest

from tests.server.conftest import Api

T0 = "2026-01-01T00:00:00.000000Z"


def _id() -> str:
    return str(uuid.uuid4())


def _state(type_: str, timestamp: str, **extra: Any) -> dict[str, Any]:
    return {"id": _id(), "type": type_, "timestamp": timestamp, **extra}


def _set_state(api: Api, kind: str, run_id: str, state: dict[str, Any]) -> httpx.Response:
    return api.post(f"/{kind}/{run_id}/set_state", json={"state": state, "force": True})


def _deliver(times: int, send: Any) -> list[httpx.Response]:
    """The same request `times` times: every answer, to compare."""
    return [send() for _ in range(times)]


def _history(api: Api, kind: str, run_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/{kind}/{run_id}/states")
    assert r.status_code == 200, r.text
    states: list[dict[str, Any]] = r.json()
    return states


def _logs(api: Api, flow_run_id: str) -> list[dict[str, Any]]:
    body = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}}
    r = api.post("/logs/filter", json=body)
    assert r.status_code == 200, r.text
    lines: list[dict[str, Any]] = r.json()
    return lines


def _log(flow_run_id: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": _id(),
        "level": 20,
        "message": message,
        "timestamp": T0,
        "flow_run_id": flow_run_id,
        **extra,
    }


def _run_view(api: Api, flow_run_id: str) -> dict[str, Any]:
    """Everything the API shows of a flow run: the run, its history, its task runs with
    theirs, and its logs."""
    tasks = api.post(
        "/task_runs/filter", json={"task_runs": {"flow_run_id": {"any_": [flow_run_id]}}}
    ).json()
    return {
        "run": api.get(f"/flow_runs/{flow_run_id}").json(),
        "states": _history(api, "flow_runs", flow_run_id),
        "tasks": sorted(tasks, key=lambda t: t["id"]),
        "task_states": {t["id"]: _history(api, "task_runs", t["id"]) for t in tasks},
        "logs": _logs(api, flow_run_id),
    }


# -- set_state ------------------------------------------------------------------------


@pytest.mark.parametrize("times", [2, 3])
def test_a_flow_run_state_delivered_again_is_stored_once(either: Api, times: int) -> None:
    run = either.flow_run(either.flow()["id"])
    state = _state("RUNNING", T0, message="go", state_details={"transition_id": "t"})
    answers = _deliver(times, lambda: _set_state(either, "flow_runs", run["id"], state))
    assert {r.status_code for r in answers} == {201}
    first = answers[0].json()
    assert first["state"]["id"] == state["id"] and first["status"] == "ACCEPT"
    assert all(r.json() == first for r in answers[1:])
    after = either.get(f"/flow_runs/{run['id']}").json()
    assert after["run_count"] == 1 and after["state_id"] == state["id"]
    history = [s["id"] for s in _history(either, "flow_runs", run["id"])]
    assert sorted(history) == sorted([run["state_id"], state["id"]])


@pytest.mark.parametrize("times", [2, 3])
def test_a_task_run_state_delivered_again_is_stored_once(either: Api, times: int) -> None:
    task = either.task_run(either.flow_run(either.flow()["id"])["id"])
    state = _state("RUNNING", T0)
    answers = _deliver(times, lambda: _set_state(either, "task_runs", task["id"], state))
    assert {r.status_code for r in answers} == {201}
    assert all(r.json() == answers[0].json() for r in answers)
    assert either.get(f"/task_runs/{task['id']}").json()["run_count"] == 1
    assert len(_history(either, "task_runs", task["id"])) == 2


def test_an_old_state_replayed_after_a_newer_one_changes_nothing(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    running = _state("RUNNING", T0)
    first = _set_state(either, "flow_runs", run["id"], running)
    done = _state("COMPLETED", "2026-01-01T00:00:03.000000Z")
    assert _set_state(either, "flow_runs", run["id"], done).status_code == 201
    before = _run_view(either, run["id"])
    again = _set_state(either, "flow_runs", run["id"], running)
    assert again.status_code == 201 and again.json() == first.json()
    assert _run_view(either, run["id"]) == before
    assert before["run"]["state_type"] == "COMPLETED" and before["run"]["run_count"] == 1


def test_a_state_id_of_another_run_is_a_conflict(either: Api) -> None:
    flow = either.flow()
    run, other = either.flow_run(flow["id"]), either.flow_run(flow["id"])
    task = either.task_run(run["id"])
    state = _state("RUNNING", T0)
    assert _set_state(either, "flow_runs", run["id"], state).status_code == 201
    before = (_run_view(either, run["id"]), _run_view(either, other["id"]))
    # Another flow run, a task run of the same flow run, and a new run's first state.
    assert _set_state(either, "flow_runs", other["id"], state).status_code == 409
    assert _set_state(either, "task_runs", task["id"], state).status_code == 409
    create = either.post("/flow_runs/", json={"flow_id": flow["id"], "state": state})
    assert create.status_code == 409
    assert (_run_view(either, run["id"]), _run_view(either, other["id"])) == before
    assert len(either.post("/flow_runs/filter").json()) == 2


def test_a_state_id_of_another_workspace_is_a_conflict(arts: Api, ws: Api) -> None:
    mine = arts.flow_run(arts.flow()["id"])
    theirs = ws.flow_run(ws.flow()["id"])
    state = _state("RUNNING", T0)
    assert _set_state(arts, "flow_runs", mine["id"], state).status_code == 201
    before = _run_view(ws, theirs["id"])
    r = _set_state(ws, "flow_runs", theirs["id"], state)
    assert r.status_code == 409
    assert str(mine["id"]) not in r.text  # the answer names nothing of the other workspace
    assert _run_view(ws, theirs["id"]) == before


# -- logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("times", [2, 3])
def test_a_log_batch_delivered_again_is_stored_once(either: Api, times: int) -> None:
    run = either.flow_run(either.flow()["id"])
    batch = [_log(run["id"], f"line {i}") for i in range(3)]
    answers = _deliver(times, lambda: either.post("/logs/", json=batch))
    assert {r.status_code for r in answers} == {201}
    stored = _logs(either, run["id"])
    assert sorted(line["id"] for line in stored) == sorted(line["id"] for line in batch)


def test_a_mixed_log_batch_stores_only_the_new_lines(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    old = _log(run["id"], "old")
    assert either.post("/logs/", json=[old]).status_code == 201
    new = [_log(run["id"], "new 1"), _log(run["id"], "new 2")]
    without_id = {k: v for k, v in _log(run["id"], "no id").items() if k != "id"}
    # The old line again (with other text: the id decides), a repeat within the batch,
    # and a line without an id (always stored).
    batch = [new[0], {**old, "message": "changed"}, new[1], new[1], without_id]
    assert either.post("/logs/", json=batch).status_code == 201
    stored = {line["message"]: line["id"] for line in _logs(either, run["id"])}
    assert sorted(stored) == ["new 1", "new 2", "no id", "old"]
    assert stored["old"] == old["id"] and stored["new 2"] == new[1]["id"]


def test_a_log_id_of_another_workspace_is_a_conflict(arts: Api, ws: Api) -> None:
    mine = arts.flow_run(arts.flow()["id"])
    theirs = ws.flow_run(ws.flow()["id"])
    line = _log(mine["id"], "mine")
    assert arts.post("/logs/", json=[line]).status_code == 201
    batch = [_log(theirs["id"], "fine"), {**line, "flow_run_id": theirs["id"]}]
    r = ws.post("/logs/", json=batch)
    assert r.status_code == 409
    assert _logs(ws, theirs["id"]) == []  # nothing of the batch
    assert [g["message"] for g in _logs(arts, mine["id"])] == ["mine"]


# -- creates ----------------------------------------------------------------------------


@pytest.mark.parametrize("times", [2, 3])
def test_a_flow_run_create_delivered_again_returns_the_stored_run(either: Api, times: int) -> None:
    flow = either.flow()
    body = {"id": _id(), "flow_id": flow["id"], "state": _state("PENDING", T0)}
    answers = _deliver(times, lambda: either.post("/flow_runs/", json=body))
    # Like an artifact create retried with its id: 201 the first time, then 200.
    assert [r.status_code for r in answers] == [201] + [200] * (times - 1)
    assert all(r.json() == answers[0].json() for r in answers)
    assert answers[0].json()["state_id"] == body["state"]["id"]
    assert [r["id"] for r in either.post("/flow_runs/filter").json()] == [body["id"]]
    assert len(_history(either, "flow_runs", body["id"])) == 1


def test_a_flow_run_id_of_another_flow_or_workspace_is_a_conflict(arts: Api, ws: Api) -> None:
    flow, other_flow = arts.flow("one"), arts.flow("two")
    run = arts.flow_run(flow["id"], id=_id())
    before = _run_view(arts, run["id"])
    r = arts.post("/flow_runs/", json={"id": run["id"], "flow_id": other_flow["id"]})
    assert r.status_code == 409
    theirs = ws.post("/flow_runs/", json={"id": run["id"], "flow_id": ws.flow("one")["id"]})
    assert theirs.status_code == 409
    assert _run_view(arts, run["id"]) == before
    assert len(arts.post("/flow_runs/filter").json()) == 1
    assert ws.post("/flow_runs/filter").json() == []


@pytest.mark.parametrize("times", [2, 3])
def test_a_task_run_create_delivered_again_returns_the_stored_run(either: Api, times: int) -> None:
    run = either.flow_run(either.flow()["id"])
    body = {
        "id": _id(),
        "flow_run_id": run["id"],
        "task_key": "t",
        "dynamic_key": "0",
        "state": _state("RUNNING", T0),
    }
    answers = _deliver(times, lambda: either.post("/task_runs/", json=body))
    assert {r.status_code for r in answers} == {201}
    assert all(r.json() == answers[0].json() for r in answers)
    assert answers[0].json()["run_count"] == 1
    assert [t["id"] for t in either.post("/task_runs/filter").json()] == [body["id"]]
    assert [s["id"] for s in _history(either, "task_runs", body["id"])] == [body["state"]["id"]]


def test_a_task_run_id_of_another_workspace_is_a_conflict(arts: Api, ws: Api) -> None:
    task = arts.task_run(None, id=_id())
    r = ws.post("/task_runs/", json={"id": task["id"], "task_key": "t", "dynamic_key": "0"})
    assert r.status_code == 409
    assert ws.post("/task_runs/filter").json() == []
    assert arts.get(f"/task_runs/{task['id']}").json() == task


# -- the recorder's batches -----------------------------------------------------------------


def _record(flow_run_id: str, task_id: str, *states: dict[str, Any]) -> dict[str, Any]:
    action = {"id": task_id, "flow_run_id": flow_run_id, "task_key": "t", "dynamic_key": task_id}
    return {"task_run": {**action, "state": states[0]}, "states": list(states)}


@pytest.mark.parametrize("times", [2, 3])
def test_a_task_run_batch_delivered_again_is_stored_once(either: Api, times: int) -> None:
    run = either.flow_run(either.flow()["id"])
    batch = [
        _record(
            run["id"],
            _id(),
            _state("RUNNING", T0),
            _state("COMPLETED", "2026-01-01T00:00:02.000000Z"),
        ),
        _record(run["id"], _id(), _state("RUNNING", T0)),
    ]
    first = either.post("/task_runs/batch", json=batch)
    assert first.status_code == 201, first.text
    view = _run_view(either, run["id"])
    assert sorted(len(states) for states in view["task_states"].values()) == [1, 2]
    for _ in range(times - 1):
        again = either.post("/task_runs/batch", json=batch)
        assert again.status_code == 201 and again.json() == first.json()
    assert _run_view(either, run["id"]) == view
    # The run's later batch still applies; then the first batch replayed moves nothing.
    task_id = batch[1]["task_run"]["id"]
    later = _record(run["id"], task_id, _state("FAILED", "2026-01-01T00:00:05.000000Z"))
    assert either.post("/task_runs/batch", json=[later]).status_code == 201
    moved = _run_view(either, run["id"])
    assert either.post("/task_runs/batch", json=batch).status_code == 201
    assert _run_view(either, run["id"]) == moved
    task = either.get(f"/task_runs/{task_id}").json()
    assert (task["state_type"], task["run_count"], task["total_run_time"]) == ("FAILED", 1, 5.0)


def test_a_task_run_batch_with_another_runs_state_id_writes_nothing(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    taken = _state("RUNNING", T0)
    assert _set_state(either, "flow_runs", run["id"], taken).status_code == 201
    before = _run_view(either, run["id"])
    batch = [
        _record(run["id"], _id(), _state("RUNNING", T0)),
        _record(run["id"], _id(), taken),
    ]
    assert either.post("/task_runs/batch", json=batch).status_code == 409
    # One state twice in a batch, for two runs.
    shared = _state("RUNNING", T0)
    twice = [_record(run["id"], _id(), shared), _record(run["id"], _id(), shared)]
    assert either.post("/task_runs/batch", json=twice).status_code == 409
    assert _run_view(either, run["id"]) == before


# -- a whole run ----------------------------------------------------------------------------


def test_a_run_replayed_whole_in_another_order_reads_the_same(either: Api) -> None:
    flow = either.flow()
    run_id, task_id = _id(), _id()
    task_states = [_state("RUNNING", "2026-01-01T00:00:01.000000Z")]
    task_states.append(_state("COMPLETED", "2026-01-01T00:00:02.000000Z"))
    writes: list[tuple[str, Any]] = [
        ("/flow_runs/", {"id": run_id, "flow_id": flow["id"], "state": _state("PENDING", T0)}),
        (
            f"/flow_runs/{run_id}/set_state",
            {"state": _state("RUNNING", "2026-01-01T00:00:00.500000Z")},
        ),
        ("/task_runs/batch", [_record(run_id, task_id, *task_states)]),
        ("/logs/", [_log(run_id, "hello", task_run_id=task_id), _log(run_id, "bye")]),
        (
            f"/flow_runs/{run_id}/set_state",
            {"state": _state("COMPLETED", "2026-01-01T00:00:03.000000Z", message="ok")},
        ),
    ]
    answers = []
    for path, body in writes:
        r = either.post(path, json=body)
        assert r.status_code == 201, (path, r.text)
        answers.append(r.content)
    view = _run_view(either, run_id)
    assert view["run"]["state_type"] == "COMPLETED" and view["run"]["total_run_time"] == 2.5
    assert [len(view["states"]), len(view["tasks"]), len(view["logs"])] == [3, 1, 2]
    order = list(range(len(writes)))
    for seed in (1, 2):
        random.Random(seed).shuffle(order)
        for i in order:
            path, body = writes[i]
            r = either.post(path, json=body)
            assert r.status_code == (200 if path == "/flow_runs/" else 201), (path, r.text)
            if path != "/flow_runs/":  # the create answers the run as it is now
                assert r.content == answers[i], path
        assert _run_view(either, run_id) == view


# -- the others, idempotent already ------------------------------------------------------------


def test_flows_artifacts_and_artifact_updates_delivered_again_are_stored_once(
    either: Api,
) -> None:
    flows = _deliver(3, lambda: either.post("/flows/", json={"name": "again"}))
    assert [r.status_code for r in flows] == [201, 200, 200]
    assert len({r.json()["id"] for r in flows}) == 1
    body = {"id": _id(), "key": "k", "type": "markdown", "data": "# hi"}
    made = _deliver(3, lambda: either.post("/artifacts/", json=body))
    assert [r.status_code for r in made] == [201, 200, 200]
    assert all(r.json() == made[0].json() for r in made)
    assert either.count() == 1
    patches = _deliver(3, lambda: either.patch(f"/artifacts/{body['id']}", json={"data": "# 2"}))
    assert {r.status_code for r in patches} == {204}
    assert either.read(body["id"]).json()["data"] == "# 2" and either.count() == 1
