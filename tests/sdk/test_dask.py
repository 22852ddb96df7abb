"""DaskTaskRunner on a real LocalCluster (2 worker processes): task runs, logs and
artifacts recorded from the workers, on the embedded store and over HTTP."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from runfolio import flow, get_run_logger, task
from runfolio.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from runfolio.client import RunfolioClient, client_for, use_client
from runfolio.errors import SettingsError
from runfolio.futures import TaskFuture, wait
from runfolio.schemas.bodies import ArtifactFilterBody, FlowRunFilterBody, TaskRunFilterBody
from runfolio.schemas.filters import (
    ArtifactFilter,
    IdAnyIsNull,
    TaskRunFilter,
    TypeFilter,
)
from runfolio.schemas.runs import TaskRun
from runfolio.settings import Settings
from runfolio.task_runners import DaskTaskRunner
from tests.servers import running_server

# A free port for the dashboard: ":8787" (what None means) may still be held by a cluster
# that is closing, and the warning that gives is an error under pytest.
CLUSTER = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0"}


def local_runner() -> DaskTaskRunner:
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=CLUSTER)


@pytest.fixture
def database_url() -> None:
    """SQLite only here (the default); a cluster per flow run is costly."""
    return None


class WrongShape(Exception):
    """A task's own exception type, which must reach the flow as itself."""


@task
def publish(i: int) -> int:
    progress = create_progress_artifact(0.0, description=f"part {i}")
    create_table_artifact([{"i": i, "square": i * i}], key="dask-table")
    update_progress_artifact(progress, 100.0)
    get_run_logger().info("published %d", i)
    return i * i


@task
def add_one(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return 2 * x


@task
def misshapen() -> None:
    raise WrongShape("rows and columns disagree")


def all_task_runs(client: RunfolioClient, flow_run_id: uuid.UUID) -> list[TaskRun]:
    runs: list[TaskRun] = []
    while True:
        page = client.filter_task_runs(
            TaskRunFilterBody(
                task_runs=TaskRunFilter(flow_run_id=IdAnyIsNull(any_=[flow_run_id])),
                limit=200,
                offset=len(runs),
            )
        )
        runs.extend(page)
        if len(page) < 200:
            return runs


def only_flow_run_id(client: RunfolioClient) -> uuid.UUID:
    (run,) = client.filter_flow_runs(FlowRunFilterBody())
    return run.id


def check_fifty_published(client: RunfolioClient, result: list[int]) -> None:
    assert result == [i * i for i in range(50)]
    flow_run_id = only_flow_run_id(client)
    runs = all_task_runs(client, flow_run_id)
    assert len(runs) == 50
    assert {r.state_type for r in runs} == {"COMPLETED"}
    assert all(r.start_time is not None and r.end_time is not None for r in runs)
    assert sorted(r.name for r in runs) == sorted(f"publish-{i}" for i in range(50))
    # Both workers took part, and each run says which one ran it.
    assert len({r.labels["dask.worker"] for r in runs}) >= 2
    run_ids = {r.id for r in runs}

    def of_type(type_: str) -> list[Any]:
        body = ArtifactFilterBody(artifacts=ArtifactFilter(type=TypeFilter(any_=[type_])))
        return client.filter_artifacts(body)

    tables, bars = of_type("table"), of_type("progress")
    assert len(tables) == 50 and len(bars) == 50
    for artifact in tables + bars:
        assert artifact.flow_run_id == flow_run_id
        assert artifact.task_run_id in run_ids
    assert len({a.task_run_id for a in tables}) == 50  # one table per task run
    assert {a.data for a in bars} == {100.0}
    logs = client.read_logs(flow_run_id)
    published = [log for log in logs if log.message.startswith("published ")]
    assert len(published) == 50 and {log.task_run_id for log in published} == run_ids


def fifty_flow(runner: DaskTaskRunner) -> list[int]:
    @flow(name="dask-fifty", task_runner=runner)
    def fifty() -> list[int]:
        futures = publish.map(range(50))
        return [f.result(timeout=60) for f in futures]

    return fifty()


def test_fifty_tasks_on_the_embedded_store(client: RunfolioClient) -> None:
    check_fifty_published(client, fifty_flow(local_runner()))


def test_fifty_tasks_over_http_on_an_existing_cluster(tmp_path: Path) -> None:
    from distributed import LocalCluster

    with (
        running_server(tmp_path / "server-home") as server,
        LocalCluster(**CLUSTER) as cluster,  # type: ignore[no-untyped-call]
    ):
        client = client_for(Settings(home=tmp_path / "sdk-home", api_url=server.api_url))
        use_client(client)
        runner = DaskTaskRunner(address=cluster.scheduler_address)
        check_fifty_published(client, fifty_flow(runner))


def test_futures_as_arguments_map_and_wait(client: RunfolioClient) -> None:
    @flow(task_runner=local_runner())
    def chained() -> tuple[int, list[int], bool]:
        first = add_one.submit(1)
        # A future as the argument: resolved on the cluster, not here (typed as its value).
        second = double.submit(first)  # type: ignore[arg-type]
        doubled = double.map(add_one.map(range(200)))
        done, not_done = wait([second, *doubled], timeout=60)
        all_done = len(done) == 201 and not not_done and second.done()
        return second.result(timeout=30), [f.result() for f in doubled], all_done

    second, doubled, all_done = chained()
    assert second == 4
    assert doubled == [2 * (i + 1) for i in range(200)]
    assert all_done
    runs = all_task_runs(client, only_flow_run_id(client))
    assert len(runs) == 402 and {r.state_type for r in runs} == {"COMPLETED"}
    (first,) = [r for r in runs if r.name == "add_one-0"]
    (second_run,) = [r for r in runs if r.name == "double-0"]
    assert second_run.task_inputs["parameters"] == {"x": 2}  # the value, not the future
    assert first.end_time is not None and second_run.start_time is not None
    assert second_run.start_time >= first.end_time  # it waited for its input


@task
def outer() -> int:
    return double.submit(21).result(timeout=60)  # submitted from inside a task run


def test_a_task_submitted_from_a_task_names_its_parent(client: RunfolioClient) -> None:
    @flow(task_runner=local_runner())
    def nested() -> int:
        return outer()

    assert nested() == 42
    runs = {r.name: r for r in all_task_runs(client, only_flow_run_id(client))}
    assert runs["double-0"].task_inputs["parent_task_run_id"] == str(runs["outer-0"].id)
    assert "dask.worker" in runs["double-0"].labels  # it ran on the cluster
    assert "dask.worker" not in runs["outer-0"].labels  # the flow body called it here


def test_retry_records_two_attempts_and_exception_keeps_its_type(
    client: RunfolioClient, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"

    @task(retries=1)
    def flaky(path: str) -> str:
        if not Path(path).exists():
            Path(path).touch()  # workers share this machine's file system
            raise ConnectionError("first attempt fails")
        return "second attempt"

    @flow(task_runner=local_runner())
    def retried() -> str:
        result = flaky.submit(str(marker)).result(timeout=60)
        try:
            misshapen.submit().result(timeout=60)
        except WrongShape as exc:
            return f"{result}; {exc}"
        return f"{result}; no exception"

    assert retried() == "second attempt; rows and columns disagree"
    runs = {r.name: r for r in all_task_runs(client, only_flow_run_id(client))}
    assert runs["flaky-0"].state_type == "COMPLETED" and runs["flaky-0"].run_count == 2
    states = [s.name for s in client.read_task_run_states(runs["flaky-0"].id)]
    assert states == ["Running", "AwaitingRetry", "Retrying", "Completed"]
    assert runs["misshapen-0"].state_type == "FAILED"
    failed = runs["misshapen-0"].state
    assert failed is not None and "WrongShape" in (failed.message or "")


def test_an_unhandled_task_exception_fails_the_flow_with_its_type(client: RunfolioClient) -> None:
    @flow(task_runner=local_runner())
    def broken() -> None:
        misshapen.submit().result(timeout=60)

    with pytest.raises(WrongShape, match="rows and columns disagree"):
        broken()
    (run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert run.state_type == "FAILED"
    assert run.state is not None and "WrongShape" in (run.state.message or "")


def test_a_remote_cluster_with_the_embedded_store_is_refused(client: RunfolioClient) -> None:
    @flow(task_runner=DaskTaskRunner(address="tcp://10.0.0.1:8786"))
    def remote() -> None:
        raise AssertionError("must not run")

    with pytest.raises(SettingsError, match="Set RUNFOLIO_API_URL"):
        remote()
    assert client.filter_flow_runs(FlowRunFilterBody()) == []  # refused before any record


def test_import_runfolio_does_not_import_dask() -> None:
    code = (
        "import runfolio, runfolio.task_runners, runfolio.futures, sys; "
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cluster_class_accepts_a_class_or_a_dotted_path() -> None:
    from distributed import LocalCluster

    assert DaskTaskRunner(cluster_class=LocalCluster).resolved_cluster_class() is LocalCluster
    by_path = DaskTaskRunner(cluster_class="distributed.LocalCluster")
    assert by_path.resolved_cluster_class() is LocalCluster
    with pytest.raises(ValueError, match="either address or"):
        DaskTaskRunner(address="tcp://x:8786", cluster_kwargs={"n_workers": 1})


def test_task_futures_work_without_dask(client: RunfolioClient) -> None:
    @flow
    def threaded() -> int:
        return double.submit(add_one.submit(3)).result(timeout=10)  # type: ignore[arg-type]

    assert threaded() == 8
    futures: list[TaskFuture[int]] = []
    assert wait(futures).done == set()
