"""A Prefect 3.9.1 flow on `prefect_dask.DaskTaskRunner` (prefect-dask, unmodified, in
the compat virtualenv) against runfolio with auth on: its tasks run in two Dask worker
processes, which report to runfolio with the credentials they inherit, and their task runs
and artifacts appear there linked to the flow run."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.compat.conftest import PrefectUser, output_of, trouble
from tests.compat.test_flow_script import _task_runs_when_finished

pytestmark = pytest.mark.compat

SCRIPT = """
import json, os
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context
from prefect_dask import DaskTaskRunner


@task
def square(x):
    artifact_id = create_markdown_artifact(f"{x} squared is {x * x}", key=f"square-{x}")
    return {
        "value": x * x,
        "pid": os.getpid(),
        "task_run_id": str(get_run_context().task_run.id),
        "artifact_id": str(artifact_id),
    }


runner = DaskTaskRunner(
    cluster_kwargs={
        "n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"
    }
)


@flow(name="dask-compat", task_runner=runner)
def squares():
    made = [f.result() for f in square.map(range(8))]
    return {"flow_run_id": str(get_run_context().flow_run.id), "made": made, "here": os.getpid()}


if __name__ == "__main__":
    print("RESULT " + json.dumps(squares()))
"""


def test_prefect_dask_task_runner(prefect_user: PrefectUser, runfolio_api: httpx.Client) -> None:
    api = runfolio_api
    result = prefect_user.script("dask_flow.py", SCRIPT)
    assert result.returncode == 0, output_of(result)
    assert not trouble(result), output_of(result)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    flow_run_id, made = out["flow_run_id"], out["made"]
    assert [m["value"] for m in made] == [x * x for x in range(8)]
    # The tasks ran in Dask worker processes, not in the flow's.
    assert out["here"] not in {m["pid"] for m in made}

    flow_run = api.get(f"/flow_runs/{flow_run_id}").json()
    assert flow_run["state_type"] == "COMPLETED"

    task_runs = {r["id"]: r for r in _task_runs_when_finished(api, flow_run_id, 8)}
    assert set(task_runs) == {m["task_run_id"] for m in made}
    assert {r["state_type"] for r in task_runs.values()} == {"COMPLETED"}
    assert all(r["name"].startswith("square-") for r in task_runs.values())

    artifacts = api.post(
        "/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "KEY_ASC"},
    ).json()
    assert [a["key"] for a in artifacts] == [f"square-{x}" for x in range(8)]
    by_id = {a["id"]: a for a in artifacts}
    for x, m in enumerate(made):
        artifact = by_id[m["artifact_id"]]
        assert artifact["task_run_id"] == m["task_run_id"]
        assert artifact["data"] == f"{x} squared is {x * x}"
