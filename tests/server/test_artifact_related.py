"""The `flow_runs` / `task_runs` / `flows` / `deployments` sub-filters of artifact queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.server.conftest import Api


@pytest.fixture
def world(either: Api) -> dict[str, Any]:
    """Two flows, three runs, two task runs, and artifacts linked to them in every way."""
    etl, report = either.flow("etl"), either.flow("report")
    nightly = either.flow_run(etl["id"], name="nightly-etl", tags=["prod"])
    adhoc = either.flow_run(etl["id"], name="adhoc-etl", tags=["dev"])
    weekly = either.flow_run(report["id"], name="weekly-report", tags=["prod"])
    either.set_state("flow_runs", nightly["id"], "RUNNING")
    either.set_state("flow_runs", nightly["id"], "COMPLETED")
    either.set_state("flow_runs", adhoc["id"], "RUNNING")
    either.set_state("flow_runs", adhoc["id"], "FAILED")
    load = either.task_run(nightly["id"], task_key="load", name="load-0")
    render = either.task_run(weekly["id"], task_key="render", name="render-0")
    either.set_state("task_runs", load["id"], "RUNNING")
    made = {
        "n_flow": either.create(key="n", data="x", flow_run_id=nightly["id"]),
        "n_task": either.create(
            key="n", data="x", flow_run_id=nightly["id"], task_run_id=load["id"]
        ),
        "a_flow": either.create(key="a", data="x", flow_run_id=adhoc["id"]),
        "w_task": either.create(
            key="w", data="x", flow_run_id=weekly["id"], task_run_id=render["id"]
        ),
        "orphan": either.create(key="o", data="x", flow_run_id=str(uuid.uuid4())),
        "free": either.create(key="f", data="x"),
    }
    return {"api": either, "made": made, "runs": [nightly, adhoc, weekly], "tasks": [load, render]}


def _versions(world: dict[str, Any], **body: Any) -> set[str]:
    api: Api = world["api"]
    by_id = {v["id"]: k for k, v in world["made"].items()}
    rows = api.filter(**body)
    assert api.count(body) == len(rows)
    return {by_id[r["id"]] for r in rows}


def _keys(world: dict[str, Any], **body: Any) -> set[str]:
    api: Api = world["api"]
    rows = api.latest_filter(**body)
    assert api.latest_count(body) == len(rows)
    return {r["key"] for r in rows}


def test_flow_runs_sub_filter(world: dict[str, Any]) -> None:
    nightly, adhoc, weekly = world["runs"]
    assert _versions(world, flow_runs={"id": {"any_": [nightly["id"]]}}) == {"n_flow", "n_task"}
    assert _versions(world, flow_runs={"name": {"like_": "etl"}}) == {"n_flow", "n_task", "a_flow"}
    assert _versions(world, flow_runs={"tags": {"all_": ["prod"]}}) == {
        "n_flow",
        "n_task",
        "w_task",
    }
    assert _versions(world, flow_runs={"state": {"type": {"any_": ["FAILED"]}}}) == {"a_flow"}
    assert _versions(world, flow_runs={"state": {"type": {"any_": ["PENDING"]}}}) == {"w_task"}
    assert _versions(world, flow_runs={"state": {"name": {"any_": ["Completed"]}}}) == {
        "n_flow",
        "n_task",
    }
    # An empty run filter still requires a (known) flow run: orphans and free ones drop out.
    assert _versions(world, flow_runs={}) == {"n_flow", "n_task", "a_flow", "w_task"}
    assert _versions(world, flow_runs={"id": {"any_": []}}) == set()


def test_task_runs_sub_filter(world: dict[str, Any]) -> None:
    load, render = world["tasks"]
    assert _versions(world, task_runs={}) == {"n_task", "w_task"}
    assert _versions(world, task_runs={"id": {"any_": [render["id"]]}}) == {"w_task"}
    assert _versions(world, task_runs={"name": {"any_": ["load-0"]}}) == {"n_task"}
    assert _versions(world, task_runs={"state": {"type": {"any_": ["RUNNING"]}}}) == {"n_task"}


def test_flows_sub_filter(world: dict[str, Any]) -> None:
    assert _versions(world, flows={"name": {"any_": ["report"]}}) == {"w_task"}
    assert _versions(world, flows={"name": {"like_": "ET"}}) == {"n_flow", "n_task", "a_flow"}
    assert _versions(world, flows={}) == {"n_flow", "n_task", "a_flow", "w_task"}
    # Flows and flow runs together: the same run must match both.
    both = {"flows": {"name": {"any_": ["etl"]}}, "flow_runs": {"tags": {"all_": ["prod"]}}}
    assert _versions(world, **both) == {"n_flow", "n_task"}
    none = {"flows": {"name": {"any_": ["report"]}}, "flow_runs": {"tags": {"all_": ["dev"]}}}
    assert _versions(world, **none) == set()


def test_deployments_sub_filter_matches_nothing_without_deployments(world: dict[str, Any]) -> None:
    assert _versions(world, deployments={}) == set()
    assert _versions(world, deployments={"name": {"any_": ["x"]}}) == set()
    assert _keys(world, deployments={}) == set()


def test_sub_filters_combine_with_the_artifact_filter(world: dict[str, Any]) -> None:
    body = {"artifacts": {"key": {"any_": ["n", "w"]}}, "flow_runs": {"tags": {"all_": ["prod"]}}}
    assert _versions(world, **body) == {"n_flow", "n_task", "w_task"}
    body["task_runs"] = {"name": {"any_": ["render-0"]}}
    assert _versions(world, **body) == {"w_task"}


def test_sub_filters_on_collections(world: dict[str, Any]) -> None:
    # Key "n"'s latest version is n_task (linked to nightly and load).
    assert _keys(world, flow_runs={"name": {"any_": ["nightly-etl"]}}) == {"n"}
    assert _keys(world, task_runs={"name": {"any_": ["load-0"]}}) == {"n"}
    assert _keys(world, flows={"name": {"any_": ["etl"]}}) == {"n", "a"}
    assert _keys(world, flow_runs={}) == {"n", "a", "w"}
    assert _keys(world, task_runs={"state": {"type": {"any_": ["PENDING"]}}}) == {"w"}


def test_unknown_keys_inside_sub_filters_are_refused(either: Api) -> None:
    body: dict[str, Any]
    for body in (
        {"flow_runs": {"nme": {}}},
        {"task_runs": {"name": {"contains_": "x"}}},
        {"flows": {"name": {"like": "x"}}},
    ):
        r = either.post("/artifacts/filter", json=body)
        assert r.status_code == 422, body
        assert r.json()["exception_detail"][0]["type"] == "extra_forbidden"
