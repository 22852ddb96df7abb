"""A Dask worker process killed (SIGKILL) while it runs a task: the lost attempt ends
CRASHED with a message naming the worker, Dask's rerun elsewhere is recorded as a task run
of its own, and when Dask gives up the flow run ends FAILED with KilledWorker. Nothing
hangs: every wait here has a bound."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest

from runfolio import flow, task
from runfolio.client import RunfolioClient
from runfolio.schemas.bodies import FlowRunFilterBody
from runfolio.schemas.runs import TaskRun
from runfolio.task_runners import DaskTaskRunner
from tests.sdk.test_dask import CLUSTER, all_task_runs, only_flow_run_id

WAIT_S = 40  # far above what a kill and a rerun take; the test fails instead of hanging


@pytest.fixture
def database_url() -> None:
    """SQLite only: a cluster per flow run is costly."""
    return None


@task
def slow_once(marker: str, seconds: float) -> str:
    """Sleeps `seconds` on its first attempt (after writing its worker's pid), returns at
    once on any later one: a rerun after the worker is killed ends quickly."""
    path = Path(marker)
    if path.exists():
        return "rerun finished"
    path.write_text(str(os.getpid()))
    time.sleep(seconds)
    return "first attempt finished"


@task
def slow_always(marker: str, seconds: float) -> str:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


def kill_when_running(client: RunfolioClient, marker: Path, name: str) -> threading.Thread:
    """A thread that SIGKILLs the worker whose pid the task wrote, once the store shows the
    task run RUNNING (so the lost attempt was recorded before its worker died)."""

    def kill() -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text():
                (run,) = client.filter_flow_runs(FlowRunFilterBody())
                runs = [r for r in all_task_runs(client, run.id) if r.name == name]
                if runs and runs[0].state_type == "RUNNING":
                    os.kill(int(marker.read_text()), signal.SIGKILL)
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def one_failure_allowed() -> Iterator[None]:
    # The scheduler runs in this process (LocalCluster), so this reaches it: Dask gives
    # up on a task after its first lost worker instead of rerunning it up to 3 times.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        yield


def test_killed_worker_rerun_elsewhere_records_both_attempts(
    client: RunfolioClient, tmp_path: Path
) -> None:
    marker = tmp_path / "pid"
    runner = DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=CLUSTER)

    @flow(name="dask-killed-rerun", task_runner=runner)
    def survives() -> str:
        return slow_once.submit(str(marker), 60).result(timeout=WAIT_S)

    started = time.monotonic()
    killer = kill_when_running(client, marker, "slow_once-0")
    assert survives() == "rerun finished"
    killer.join(timeout=5)
    assert time.monotonic() - started < 50

    (flow_run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert flow_run.state_type == "COMPLETED"
    runs = all_task_runs(client, only_flow_run_id(client))
    assert sorted(str(r.state_type) for r in runs) == ["COMPLETED", "CRASHED"]
    (lost,) = [r for r in runs if r.state_type == "CRASHED"]
    (rerun,) = [r for r in runs if r.state_type == "COMPLETED"]
    assert lost.id != rerun.id and lost.name == rerun.name == "slow_once-0"
    message = _message(lost)
    assert f"Dask worker {lost.labels['dask.worker']}" in message
    assert lost.labels["dask.worker_address"] in message
    assert "died while running it" in message and "ran it again" in message
    assert lost.end_time is not None


def test_killed_worker_with_no_rerun_fails_the_flow(
    client: RunfolioClient, tmp_path: Path, one_failure_allowed: None
) -> None:
    from distributed import KilledWorker

    marker = tmp_path / "pid"
    runner = DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=CLUSTER)

    @flow(name="dask-killed", task_runner=runner)
    def lost() -> str:
        return slow_always.submit(str(marker), 60).result(timeout=WAIT_S)

    started = time.monotonic()
    killer = kill_when_running(client, marker, "slow_always-0")
    with pytest.raises(KilledWorker):
        lost()
    killer.join(timeout=5)
    assert time.monotonic() - started < 50

    (flow_run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert flow_run.state_type == "FAILED"
    assert flow_run.state is not None and "KilledWorker" in (flow_run.state.message or "")
    (run,) = all_task_runs(client, flow_run.id)
    assert run.state_type == "CRASHED"
    message = _message(run)
    assert "died while running it" in message and "Dask gave up" in message


def _message(run: TaskRun) -> str:
    assert run.state is not None
    return run.state.message or ""
