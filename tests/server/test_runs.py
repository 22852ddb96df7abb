"""Flows, flow runs, task runs, states and logs, in the shapes of contract §5."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.server.conftest import TIMESTAMP, Api

# The exact flow-run create body the reference client sends (§5.2 step 4).
CLIENT_FLOW_RUN: dict[str, Any] = {
    "state": {
        "type": "PENDING",
        "name": "Pending",
        "message": None,
        "state_details": {"traceparent": None},
        "data": None,
    },
    "name": None,
    "flow_version": "abc123",
    "parameters": {},
    "context": {},
    "parent_task_run_id": None,
    "empirical_policy": {"retries": 0, "retry_delay": 0},
    "tags": [],
}


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_flow_new_then_existing(either: Api) -> None:
    r = either.post("/flows/", json={"name": "my-flow", "tags": [], "labels": {}})
    assert r.status_code == 201
    flow = r.json()
    assert flow["name"] == "my-flow" and uuid.UUID(flow["id"])
    assert TIMESTAMP.match(flow["created"])
    again = either.post("/flows/", json={"name": "my-flow", "tags": ["ignored"]})
    assert again.status_code == 200 and again.json() == flow
    assert either.get(f"/flows/{flow['id']}").json() == flow
    other = either.post("/flows/", json={"name": "other"})
    assert other.status_code == 201 and other.json()["id"] != flow["id"]
    names = [f["name"] for f in either.post("/flows/filter").json()]
    assert names == ["my-flow", "other"]
    by_name = either.post("/flows/filter", json={"flows": {"name": {"like_": "OTH"}}}).json()
    assert [f["name"] for f in by_name] == ["other"]


def test_flow_run_create_read_as_the_client_sends_it(either: Api) -> None:
    flow = either.flow("my-flow")
    r = either.post("/flow_runs/", json={**CLIENT_FLOW_RUN, "flow_id": flow["id"]})
    assert r.status_code == 201, r.text
    run = r.json()
    for name in ("id", "created", "updated", "name", "flow_id", "parameters", "tags", "state"):
        assert name in run, name
    assert run["flow_id"] == flow["id"] and run["name"]  # a generated name
    assert run["state_type"] == "PENDING" and run["state_name"] == "Pending"
    assert run["state"]["type"] == "PENDING" and run["state"]["id"] == run["state_id"]
    assert set(run["state"]) >= {"id", "type", "name", "timestamp", "message", "data"}
    assert run["empirical_policy"] == {"retries": 0, "retry_delay": 0}
    assert run["flow_version"] == "abc123"
    assert run["run_count"] == 0 and run["start_time"] is None
    assert either.get(f"/flow_runs/{run['id']}").json() == run


def test_flow_run_lifecycle(either: Api) -> None:
    run = either.flow_run(either.flow()["id"], name="lifecycle")
    running = either.set_state(
        "flow_runs", run["id"], "RUNNING", name="Running", state_details={"transition_id": "t"}
    )
    assert running.status_code == 201, running.text
    out = running.json()
    assert list(out) == ["state", "status", "details"]
    assert out["status"] == "ACCEPT" and out["details"] == {"type": "accept_details"}
    assert out["state"]["type"] == "RUNNING" and out["state"]["name"] == "Running"
    assert out["state"]["state_details"]["transition_id"] == "t"
    after_start = either.get(f"/flow_runs/{run['id']}").json()
    assert after_start["state_type"] == "RUNNING" and after_start["run_count"] == 1
    assert after_start["start_time"] == out["state"]["timestamp"]
    assert after_start["end_time"] is None
    assert after_start["state"]["id"] == out["state"]["id"]

    done = either.set_state("flow_runs", run["id"], "COMPLETED", message="all good").json()
    assert done["state"]["name"] == "Completed" and done["state"]["message"] == "all good"
    final = either.get(f"/flow_runs/{run['id']}").json()
    assert final["state_type"] == "COMPLETED" and final["run_count"] == 1
    assert final["end_time"] == done["state"]["timestamp"]
    assert final["start_time"] == after_start["start_time"]
    expected = (_time(final["end_time"]) - _time(final["start_time"])).total_seconds()
    assert final["total_run_time"] == pytest.approx(expected) and expected >= 0

    history = either.get(f"/flow_runs/{run['id']}/states").json()
    assert [s["type"] for s in history] == ["PENDING", "RUNNING", "COMPLETED"]
    assert history[-1]["id"] == done["state"]["id"]


@pytest.mark.parametrize("terminal", ["FAILED", "CRASHED", "CANCELLED"])
def test_terminal_states_set_the_end(either: Api, terminal: str) -> None:
    run = either.flow_run(either.flow()["id"])
    either.set_state("flow_runs", run["id"], "RUNNING")
    r = either.set_state("flow_runs", run["id"], terminal)
    assert r.status_code == 201 and r.json()["status"] == "ACCEPT"
    got = either.get(f"/flow_runs/{run['id']}").json()
    assert got["state_type"] == terminal and got["state_name"] == terminal.capitalize()
    assert got["end_time"] is not None and got["total_run_time"] >= 0


def test_cancelled_before_running_has_no_start(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    either.set_state("flow_runs", run["id"], "CANCELLED")
    got = either.get(f"/flow_runs/{run['id']}").json()
    assert got["start_time"] is None and got["end_time"] is not None
    assert got["run_count"] == 0 and got["total_run_time"] == 0.0


def test_a_retry_counts_runs_and_keeps_the_first_start(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    t0 = "2026-01-01T00:00:00.000000Z"
    either.set_state("flow_runs", run["id"], "RUNNING", timestamp=t0)
    either.set_state("flow_runs", run["id"], "FAILED", timestamp="2026-01-01T00:00:01.000000Z")
    either.set_state("flow_runs", run["id"], "RUNNING", timestamp="2026-01-01T00:00:02.000000Z")
    mid = either.get(f"/flow_runs/{run['id']}").json()
    assert mid["run_count"] == 2 and mid["end_time"] is None and mid["start_time"] == t0
    either.set_state("flow_runs", run["id"], "COMPLETED", timestamp="2026-01-01T00:00:05.500000Z")
    got = either.get(f"/flow_runs/{run['id']}").json()
    assert got["total_run_time"] == 5.5 and got["end_time"] == "2026-01-01T00:00:05.500000Z"


def test_timestamps_without_an_offset_are_utc(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    started = either.set_state("flow_runs", run["id"], "RUNNING", timestamp="2026-01-01T00:00:00")
    assert started.status_code == 201
    assert started.json()["state"]["timestamp"] == "2026-01-01T00:00:00.000000Z"
    done = either.set_state("flow_runs", run["id"], "COMPLETED", timestamp="2026-01-01T00:00:05")
    assert done.status_code == 201, done.text
    # An offset is honoured.
    task = either.task_run(run["id"])
    either.set_state("task_runs", task["id"], "RUNNING", timestamp="2026-01-01T02:00:00+02:00")
    either.set_state("task_runs", task["id"], "FAILED", timestamp="2026-01-01T00:00:02Z")
    got_run = either.get(f"/flow_runs/{run['id']}").json()
    assert got_run["total_run_time"] == 5.0
    assert got_run["end_time"] == "2026-01-01T00:00:05.000000Z"
    got_task = either.get(f"/task_runs/{task['id']}").json()
    assert got_task["start_time"] == "2026-01-01T00:00:00.000000Z"
    assert got_task["total_run_time"] == 2.0


def test_set_state_bad_input(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    before = either.get(f"/flow_runs/{run['id']}").json()
    body: dict[str, Any]
    for body in ({}, {"state": {}}, {"state": {"type": "running"}}, {"state": "RUNNING"}):
        r = either.post(f"/flow_runs/{run['id']}/set_state", json=body)
        assert r.status_code == 422, body
        assert r.json()["exception_detail"][0]["loc"][:2] == ["body", "state"]
    assert either.get(f"/flow_runs/{run['id']}").json() == before
    assert len(either.get(f"/flow_runs/{run['id']}/states").json()) == 1


def test_flow_run_filters(either: Api) -> None:
    flow_a, flow_b = either.flow("flow-a"), either.flow("flow-b")
    r1 = either.flow_run(flow_a["id"], name="alpha-run", tags=["x", "y"])
    r2 = either.flow_run(flow_a["id"], name="beta-run", tags=["y"])
    r3 = either.flow_run(flow_b["id"], name="gamma", tags=[])
    either.set_state("flow_runs", r1["id"], "RUNNING")
    either.set_state("flow_runs", r2["id"], "RUNNING")
    either.set_state("flow_runs", r2["id"], "FAILED")

    def names(**body: Any) -> list[str]:
        r = either.post("/flow_runs/filter", json=body)
        assert r.status_code == 200, r.text
        return sorted(run["name"] for run in r.json())

    assert names() == ["alpha-run", "beta-run", "gamma"]
    assert names(flow_runs={"state": {"type": {"any_": ["RUNNING"]}}}) == ["alpha-run"]
    assert names(flow_runs={"state": {"type": {"not_any_": ["RUNNING"]}}}) == ["beta-run", "gamma"]
    assert names(flow_runs={"state": {"name": {"any_": ["Failed"]}}}) == ["beta-run"]
    assert names(flow_runs={"name": {"like_": "RUN"}}) == ["alpha-run", "beta-run"]
    assert names(flow_runs={"name": {"like_": "_"}}) == []
    assert names(flow_runs={"name": {"any_": ["gamma"]}}) == ["gamma"]
    assert names(flow_runs={"tags": {"all_": ["x", "y"]}}) == ["alpha-run"]
    assert names(flow_runs={"tags": {"all_": ["y"]}}) == ["alpha-run", "beta-run"]
    assert names(flow_runs={"tags": {"any_": ["x", "nope"]}}) == ["alpha-run"]
    assert names(flow_runs={"tags": {"is_null_": True}}) == ["gamma"]
    assert names(flow_runs={"tags": {"is_null_": False}}) == ["alpha-run", "beta-run"]
    assert names(flow_runs={"id": {"any_": [r3["id"]]}}) == ["gamma"]
    assert names(flow_runs={"id": {"not_any_": [r3["id"]]}}) == ["alpha-run", "beta-run"]
    assert names(flow_runs={"start_time": {"is_null_": True}}) == ["gamma"]
    assert names(flow_runs={"end_time": {"is_null_": False}}) == ["beta-run"]
    assert names(flows={"name": {"any_": ["flow-b"]}}) == ["gamma"]
    assert names(
        flow_runs={"operator": "or_", "name": {"any_": ["gamma"]}, "tags": {"all_": ["x"]}}
    ) == [
        "alpha-run",
        "gamma",
    ]
    ordered = either.post("/flow_runs/filter", json={"sort": "NAME_DESC", "limit": 2}).json()
    assert [run["name"] for run in ordered] == ["gamma", "beta-run"]
    r = either.post("/flow_runs/filter", json={"sort": "NAME_ASC", "limit": 1, "offset": 1})
    assert [run["name"] for run in r.json()] == ["beta-run"]


def test_tags_match_whole_tags_including_non_ascii(either: Api) -> None:
    flow = either.flow()
    either.flow_run(flow["id"], name="accented", tags=["café", "a%b"])
    either.flow_run(flow["id"], name="prefix", tags=["caf", "ab"])
    either.flow_run(flow["id"], name="tricky", tags=['x,"ab', "y\\"])

    def names(tags: dict[str, Any]) -> list[str]:
        body = {"flow_runs": {"tags": tags}}
        return sorted(run["name"] for run in either.post("/flow_runs/filter", json=body).json())

    assert names({"all_": ["café"]}) == ["accented"]
    assert names({"all_": ["caf"]}) == ["prefix"]
    assert names({"all_": ["a%b"]}) == ["accented"]
    assert names({"any_": ["ab"]}) == ["prefix"]
    assert names({"any_": ['x,"ab']}) == ["tricky"]
    assert names({"all_": ["y\\"]}) == ["tricky"]
    assert names({"all_": ["y"]}) == []
    assert names({"any_": ["CAFÉ", "AB", "Caf"]}) == []  # tags are case-sensitive


def test_task_runs(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    r = either.post(
        "/task_runs/",
        json={"flow_run_id": run["id"], "task_key": "add", "dynamic_key": "3", "tags": ["t"]},
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["name"] == "add-3" and task["flow_run_id"] == run["id"]
    assert task["state_type"] == "PENDING" and task["task_key"] == "add"
    assert either.get(f"/task_runs/{task['id']}").json() == task

    started = either.set_state("task_runs", task["id"], "RUNNING")
    assert started.status_code == 201
    assert started.json()["status"] == "ACCEPT"
    assert started.json()["details"] == {"type": "accept_details"}
    either.set_state("task_runs", task["id"], "COMPLETED")
    got = either.get(f"/task_runs/{task['id']}").json()
    assert got["state_type"] == "COMPLETED" and got["run_count"] == 1
    assert got["start_time"] is not None and got["end_time"] is not None
    states = either.get(f"/task_runs/{task['id']}/states").json()
    assert [s["type"] for s in states] == ["PENDING", "RUNNING", "COMPLETED"]
    # A flow run's history holds only its own states.
    assert [s["type"] for s in either.get(f"/flow_runs/{run['id']}/states").json()] == ["PENDING"]


def test_task_run_create_is_idempotent_by_id(either: Api) -> None:
    chosen = str(uuid.uuid4())
    body = {"id": chosen, "flow_run_id": None, "task_key": "t", "dynamic_key": "0"}
    first = either.post("/task_runs/", json=body)
    assert first.status_code == 201
    assert either.post("/task_runs/", json=body).json() == first.json()
    assert len(either.post("/task_runs/filter").json()) == 1


def test_task_run_filters(either: Api) -> None:
    flow = either.flow()
    run_a = either.flow_run(flow["id"], name="run-a")
    run_b = either.flow_run(flow["id"], name="run-b")
    t1 = either.task_run(run_a["id"], task_key="load", name="load-0")
    either.task_run(run_b["id"], task_key="save", name="save-0")
    either.task_run(None, task_key="free", name="free-0")
    either.set_state("task_runs", t1["id"], "RUNNING")

    def names(**body: Any) -> list[str]:
        r = either.post("/task_runs/filter", json=body)
        assert r.status_code == 200, r.text
        return sorted(t["name"] for t in r.json())

    assert names() == ["free-0", "load-0", "save-0"]
    assert names(task_runs={"state": {"type": {"any_": ["RUNNING"]}}}) == ["load-0"]
    assert names(task_runs={"name": {"like_": "SAVE"}}) == ["save-0"]
    assert names(task_runs={"flow_run_id": {"any_": [run_b["id"]]}}) == ["save-0"]
    assert names(task_runs={"flow_run_id": {"is_null_": True}}) == ["free-0"]
    assert names(flow_runs={"name": {"any_": ["run-a"]}}) == ["load-0"]


def test_logs(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    other = either.flow_run(either.flow()["id"])
    lines = [
        {
            "name": "runfolio.flow_runs",
            "level": 20,
            "message": f"line {i}",
            "timestamp": f"2026-01-01T00:00:0{9 - i}.000000Z",
            "flow_run_id": run["id"],
            "task_run_id": None,
        }
        for i in range(3)
    ]
    r = either.post("/logs/", json=[*lines, {**lines[0], "flow_run_id": other["id"]}])
    assert r.status_code == 201
    body = {"logs": {"flow_run_id": {"any_": [run["id"]]}}}
    got = either.post("/logs/filter", json=body).json()
    assert [g["message"] for g in got] == ["line 2", "line 1", "line 0"]  # oldest first
    assert got[0]["timestamp"] == "2026-01-01T00:00:07.000000Z" and got[0]["level"] == 20
    paged = either.post("/logs/filter", json={**body, "limit": 1, "offset": 1}).json()
    assert [g["message"] for g in paged] == ["line 1"]
    assert either.post("/logs/", json=[]).status_code == 201
    bad = either.post("/logs/", json=[{"level": 20, "message": "no time"}])
    assert bad.status_code == 422
    assert bad.json()["exception_detail"][0]["loc"] == ["body", 0, "timestamp"]
    assert len(either.post("/logs/filter", json=body).json()) == 3


def test_persisted_result_data_becomes_an_artifact_of_the_run(either: Api) -> None:
    run = either.flow_run(either.flow()["id"])
    either.set_state("flow_runs", run["id"], "RUNNING")
    data = {
        "storage_key": "/results/abc",
        "serializer": {"type": "pickle"},
        "artifact_key": "result-key",
        "artifact_type": "result",
        "artifact_description": "the result",
    }
    assert either.set_state("flow_runs", run["id"], "COMPLETED", data=data).status_code == 201
    (made,) = either.filter(artifacts={"flow_run_id": {"any_": [run["id"]]}})
    assert (made["key"], made["type"], made["description"]) == (
        "result-key",
        "result",
        "the result",
    )
    assert made["data"] == {"storage_key": "/results/abc", "serializer": {"type": "pickle"}}
    # Unpersisted and null data record nothing.
    other = either.flow_run(either.flow()["id"])
    either.set_state("flow_runs", other["id"], "COMPLETED", data={"type": "unpersisted"})
    either.set_state("flow_runs", other["id"], "COMPLETED", data=None)
    assert either.filter(artifacts={"flow_run_id": {"any_": [other["id"]]}}) == []


def test_flow_run_sorts(either: Api) -> None:
    flow = either.flow()
    runs = {name: either.flow_run(flow["id"], name=name) for name in ("b", "c", "a")}
    starts = {"b": "2026-01-01T00:00:02Z", "a": "2026-01-01T00:00:01Z"}  # c never starts
    for name, when in starts.items():
        either.set_state("flow_runs", runs[name]["id"], "RUNNING", timestamp=when)
    either.set_state("flow_runs", runs["a"]["id"], "COMPLETED", timestamp="2026-01-01T00:00:09Z")

    def order(sort: str) -> list[str]:
        r = either.post("/flow_runs/filter", json={"sort": sort})
        assert r.status_code == 200, r.text
        return [run["name"] for run in r.json()]

    assert order("NAME_ASC") == ["a", "b", "c"]
    assert order("NAME_DESC") == ["c", "b", "a"]
    assert order("START_TIME_ASC") == ["a", "b", "c"]  # never started: last
    assert order("START_TIME_DESC") == ["b", "a", "c"]
    assert order("END_TIME_DESC")[0] == "a"
    assert order("ID_DESC") == ["a", "c", "b"]  # ids are time-ordered: newest first
    assert order("EXPECTED_START_TIME_DESC") == ["a", "c", "b"]


def test_a_subflow_placeholder_task_run_follows_the_subflow(either: Api) -> None:
    flow = either.flow()
    parent = either.flow_run(flow["id"])
    placeholder = either.task_run(parent["id"], task_key="child-flow", dynamic_key="0")
    assert placeholder["state_type"] == "PENDING"
    child = either.flow_run(flow["id"], parent_task_run_id=placeholder["id"])
    either.set_state("flow_runs", child["id"], "RUNNING")
    assert either.get(f"/task_runs/{placeholder['id']}").json()["state_type"] == "RUNNING"
    either.set_state("flow_runs", child["id"], "COMPLETED", message="done")
    mirrored = either.get(f"/task_runs/{placeholder['id']}").json()
    assert (mirrored["state_type"], mirrored["state"]["message"]) == ("COMPLETED", "done")
    assert mirrored["end_time"] is not None


def test_a_real_task_that_calls_a_flow_keeps_its_own_state(either: Api) -> None:
    flow = either.flow()
    parent = either.flow_run(flow["id"])
    task = either.task_run(parent["id"], task_key="caller", dynamic_key="0")
    either.set_state("task_runs", task["id"], "RUNNING")
    child = either.flow_run(flow["id"], parent_task_run_id=task["id"])
    either.set_state("flow_runs", child["id"], "RUNNING")
    either.set_state("flow_runs", child["id"], "FAILED")
    assert either.get(f"/task_runs/{task['id']}").json()["state_type"] == "RUNNING"
