"""A Prefect script (@flow, @task, the five artifact helpers) run unchanged against
runfolio with auth on, then checked through runfolio's own API: artifacts with their
runs, the flow run COMPLETED, task runs built from the client's events, and a clean
output. The main script runs under each client configuration that works end to end
(REST and the events websocket); test_auth_configurations.py has the others."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.compat.conftest import KEYS, SERVER_AUTH_STRING, PrefectUser, output_of, trouble

pytestmark = pytest.mark.compat

SCRIPT = """
import json
from prefect import flow, task
from prefect.artifacts import (
    Artifact,
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.context import get_run_context


def _here(artifact_id):
    return {"task_run_id": str(get_run_context().task_run.id), "id": str(artifact_id)}


@task
def make_link():
    return _here(create_link_artifact(
        "https://example.com/report", link_text="Report", key="compat-link", description="a link"
    ))


@task
def make_markdown():
    return _here(create_markdown_artifact("# Hello\\n\\nfrom a task", key="compat-md"))


@task
def make_table():
    rows = [{"name": "a", "value": 1}, {"name": "b", "value": float("nan")}]
    return _here(create_table_artifact(rows, key="compat-table", description="rows"))


@task
def make_image():
    return _here(create_image_artifact("https://example.com/chart.png", key="compat-image"))


@task
def make_progress():
    progress_id = create_progress_artifact(0.0, key="compat-progress", description="starting")
    update_progress_artifact(progress_id, 50.0)
    update_progress_artifact(progress_id, 100.0, description="done")
    return _here(progress_id)


@flow(name="compat-flow")
def compat_flow():
    made = {
        "link": make_link(),
        "markdown": make_markdown(),
        "table": make_table(),
        "image": make_image(),
        "progress": make_progress(),
    }
    found = Artifact.get("compat-md")
    return {
        "flow_run_id": str(get_run_context().flow_run.id),
        "artifacts": made,
        "got": str(found.id) if found else None,
    }


if __name__ == "__main__":
    print("RESULT " + json.dumps(compat_flow()))
"""

PERSISTED = """
from prefect import flow
from prefect.context import get_run_context


@flow(name="persisted-flow", persist_result=True)
def persisted():
    print("RUN " + str(get_run_context().flow_run.id))
    return {"answer": 42}


if __name__ == "__main__":
    persisted()
"""

EXPECTED = {
    "link": ("compat-link", "markdown", "[Report](https://example.com/report)", "a link"),
    "markdown": ("compat-md", "markdown", "# Hello\n\nfrom a task", None),
    "table": (
        "compat-table",
        "table",
        '[{"name": "a", "value": 1}, {"name": "b", "value": null}]',
        "rows",
    ),
    "image": ("compat-image", "image", "https://example.com/chart.png", None),
    "progress": ("compat-progress", "progress", 100.0, "done"),
}


def _get(api: httpx.Client, path: str) -> Any:
    response = api.get(path)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    return response.json()


def _task_runs_when_finished(
    api: httpx.Client, flow_run_id: str, count: int
) -> list[dict[str, Any]]:
    """The flow run's task runs once `count` of them have finished.

    They are built from events the client sends in the background; the server may
    still be handling the last ones just after the script exits.
    """
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}}
    deadline = time.monotonic() + 15
    while True:
        runs = api.post("/task_runs/filter", json=body).json()
        if len(runs) >= count and all(r["end_time"] for r in runs):
            return list(runs)
        assert time.monotonic() < deadline, f"task runs after 15 s: {json.dumps(runs)[:2000]}"
        time.sleep(0.1)


def _finished_task_run(api: httpx.Client, task_run_id: str) -> dict[str, Any]:
    """The task run once its final state arrived (see `_task_runs_when_finished`)."""
    deadline = time.monotonic() + 15
    while True:
        response = api.get(f"/task_runs/{task_run_id}")
        if response.status_code == 200 and response.json()["end_time"]:
            run: dict[str, Any] = response.json()
            return run
        assert time.monotonic() < deadline, f"task run after 15 s: {response.text}"
        time.sleep(0.1)


# The client configurations that work end to end against a server with auth on:
# (server set-up, how the Prefect user signs in).
WORKING = [
    pytest.param(KEYS, "auth-string", id="PREFECT_API_AUTH_STRING=user:key"),
    pytest.param(KEYS, "cloud", id="PREFECT_API_KEY+PREFECT_CLOUD_API_URL"),
    pytest.param(SERVER_AUTH_STRING, "auth-string", id="server-auth-string"),
]


@pytest.mark.parametrize(("server", "sign_in"), WORKING, indirect=["server"])
def test_flow_with_tasks_creating_every_artifact_type(
    prefect_user: PrefectUser, runfolio_api: httpx.Client, sign_in: str
) -> None:
    api = runfolio_api
    if sign_in == "cloud":
        prefect_user.as_cloud_user("ci-bot")
    result = prefect_user.script("compat_flow.py", SCRIPT)
    assert result.returncode == 0, output_of(result)
    assert not trouble(result), output_of(result)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    made = json.loads(line.removeprefix("RESULT "))
    flow_run_id = made["flow_run_id"]
    assert made["got"] == made["artifacts"]["markdown"]["id"]

    flow_run = _get(api, f"/flow_runs/{flow_run_id}")
    assert flow_run["state_type"] == "COMPLETED"
    assert flow_run["state"]["name"] == "Completed"
    assert flow_run["start_time"] and flow_run["end_time"]
    flow = _get(api, f"/flows/{flow_run['flow_id']}")
    assert flow["name"] == "compat-flow"
    states = [s["type"] for s in _get(api, f"/flow_runs/{flow_run_id}/states")]
    assert states == ["PENDING", "RUNNING", "COMPLETED"]

    task_runs = {r["id"]: r for r in _task_runs_when_finished(api, flow_run_id, 5)}
    assert len(task_runs) == 5
    for kind, (key, type_, data, description) in EXPECTED.items():
        made_here = made["artifacts"][kind]
        artifact = _get(api, f"/artifacts/{made_here['id']}")
        assert (artifact["key"], artifact["type"]) == (key, type_), artifact
        assert (artifact["data"], artifact["description"]) == (data, description), artifact
        assert artifact["flow_run_id"] == flow_run_id
        assert artifact["task_run_id"] == made_here["task_run_id"]

        task_run = task_runs[made_here["task_run_id"]]
        assert task_run["flow_run_id"] == flow_run_id
        assert task_run["name"].startswith(f"make_{kind}")
        assert task_run["task_key"].startswith(f"make_{kind}")
        assert (task_run["state_type"], task_run["state_name"]) == ("COMPLETED", "Completed")
        assert task_run["run_count"] == 1
        assert task_run["start_time"] <= task_run["end_time"]
        history = _get(api, f"/task_runs/{task_run['id']}/states")
        assert [s["type"] for s in history] == ["PENDING", "RUNNING", "COMPLETED"]

    latest = _get(api, "/artifacts/compat-progress/latest")
    assert (latest["data"], latest["description"]) == (100.0, "done")
    by_task = api.post(
        "/artifacts/filter",
        json={"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
    ).json()
    assert len(by_task) == 5

    logs = api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}}).json()
    assert any("Finished in state Completed" in log["message"] for log in logs)


def test_persisted_result_becomes_an_artifact(
    prefect_user: PrefectUser, runfolio_api: httpx.Client
) -> None:
    api = runfolio_api
    result = prefect_user.script("persisted.py", PERSISTED)
    assert result.returncode == 0, output_of(result)
    assert not trouble(result), output_of(result)
    flow_run_id = next(
        x.removeprefix("RUN ") for x in result.stdout.splitlines() if x.startswith("RUN ")
    )
    assert _get(api, f"/flow_runs/{flow_run_id}")["state_type"] == "COMPLETED"
    found = api.post(
        "/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
    ).json()
    assert len(found) == 1, f"{found}\n{output_of(result)}"
    artifact = found[0]
    assert (artifact["key"], artifact["type"], artifact["task_run_id"]) == (None, None, None)
    assert artifact["data"]["storage_key"]
    assert artifact["data"]["serializer"]["type"]


NESTED = """
import asyncio
import json
from prefect import flow, task
from prefect.artifacts import acreate_table_artifact, create_markdown_artifact
from prefect.context import get_run_context


@task
def square(x):
    create_markdown_artifact(str(x * x), key=f"square-{x}")
    return x * x


@flow(name="child")
def child(n):
    return sum(square.map(range(n)).result())


@task
async def async_task():
    await acreate_table_artifact([[1, 2]], key="async-table")
    return 1


@flow(name="async-parent")
async def async_parent():
    return await async_task()


@flow(name="parent")
def parent():
    total = child(3) + square.submit(4).result()
    return {"run": str(get_run_context().flow_run.id), "total": total}


if __name__ == "__main__":
    print("RESULT " + json.dumps({"sync": parent(), "async": asyncio.run(async_parent())}))
"""


def test_subflow_mapped_and_async_tasks(
    prefect_user: PrefectUser, runfolio_api: httpx.Client
) -> None:
    api = runfolio_api
    result = prefect_user.script("nested.py", NESTED)
    assert result.returncode == 0, output_of(result)
    assert not trouble(result), output_of(result)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    made = json.loads(line.removeprefix("RESULT "))
    assert made == {"sync": {"run": made["sync"]["run"], "total": 21}, "async": 1}

    runs = api.post("/flow_runs/filter", json={}).json()
    assert sorted(r["state_type"] for r in runs) == ["COMPLETED"] * 3
    [subflow] = [r for r in runs if r["parent_task_run_id"]]
    assert (
        _get(api, f"/task_runs/{subflow['parent_task_run_id']}")["flow_run_id"]
        == (made["sync"]["run"])
    )
    mapped = _task_runs_when_finished(api, subflow["id"], 3)
    assert sorted(r["state_type"] for r in mapped) == ["COMPLETED"] * 3

    artifacts = api.post("/artifacts/filter", json={"sort": "KEY_ASC"}).json()
    assert [a["key"] for a in artifacts] == [
        "async-table",
        "square-0",
        "square-1",
        "square-2",
        "square-4",
    ]
    assert all(a["flow_run_id"] and a["task_run_id"] for a in artifacts)
    for artifact in artifacts:
        task_run = _finished_task_run(api, artifact["task_run_id"])
        assert task_run["flow_run_id"] == artifact["flow_run_id"]
        assert task_run["state_type"] == "COMPLETED"
