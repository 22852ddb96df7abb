"""DaskTaskRunner(address=...) on a cluster started from the command line, as a user
would: `dask scheduler` and two `dask worker` processes, a real runfolio server with auth
on, and the flow in a process of its own with RUNFOLIO_API_URL and RUNFOLIO_API_KEY set.

The workers start with no RUNFOLIO_* variables at all, so every record they write proves
the server's URL and key travelled in the task payload."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from runfolio.client import client_for
from runfolio.ops.access import Role
from runfolio.schemas.bodies import ArtifactFilterBody, FlowRunFilterBody
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from tests.sdk.test_dask import all_task_runs
from tests.servers import running_server

STARTUP_S = 30
FLOW_S = 60

FLOW_SCRIPT = """
import sys, time
from runfolio import flow, get_run_logger, task
from runfolio.artifacts import create_markdown_artifact
from runfolio.task_runners import DaskTaskRunner

@task
def part(i: int) -> int:
    time.sleep(0.1)  # long enough that both single-thread workers get a share
    get_run_logger().info("part %d done", i)
    create_markdown_artifact(f"# part {i}", key=f"part-{i}")
    return i * i

@flow(name="cli-cluster", task_runner=DaskTaskRunner(address=sys.argv[1]))
def parts() -> int:
    return sum(f.result(timeout=50) for f in part.map(range(20)))

print("TOTAL", parts())
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session (a worker's nanny has a child), stopped after:
    SIGTERM to its group, SIGKILL if it lingers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    continue


def write_key(database_url: str) -> str:
    """A user with the write role in the default workspace, and its key (auth is on)."""
    engine = connect(database_url)
    try:
        with write(engine) as conn:
            user = accounts.create_user(conn, "runner", secrets.token_urlsafe(16), is_admin=False)
            workspace = workspaces.find(conn, "default/default")
            accounts.set_role(conn, user, workspace, Role.WRITE)
            _, key = accounts.create_key(conn, user, workspace, Role.WRITE, "dask")
        return key
    finally:
        engine.dispose()


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while not (path.exists() and path.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"scheduler did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


@pytest.fixture
def database_url() -> None:
    return None


def test_flow_on_a_command_line_cluster_over_http(tmp_path: Path) -> None:
    from distributed import Client

    home = tmp_path / "server-home"
    home.mkdir()
    db_url = f"sqlite:///{home / 'runfolio.db'}"
    key = write_key(db_url)
    python = sys.executable
    scheduler_file = tmp_path / "scheduler.json"
    with ExitStack() as stack:
        server = stack.enter_context(running_server(home, {"RUNFOLIO_DATABASE_URL": db_url}))
        # Auth is on: a worker without the key could not write a thing.
        assert httpx.post(f"{server.api_url}/flow_runs/filter", json={}).status_code == 401
        scheduler_log = tmp_path / "scheduler.log"
        scheduler = stack.enter_context(
            process(
                [
                    python, "-m", "distributed.cli.dask_scheduler",
                    "--port", "0", "--host", "127.0.0.1", "--dashboard-address", ":0",
                    "--scheduler-file", str(scheduler_file),
                ],
                clean_env(),
                scheduler_log,
            )
        )  # fmt: skip
        wait_for_file(scheduler_file, scheduler, scheduler_log)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("worker-a", "worker-b"):
            stack.enter_context(
                process(
                    [
                        python, "-m", "distributed.cli.dask_worker", address,
                        "--nworkers", "1", "--nthreads", "1", "--name", name,
                        "--no-dashboard", "--local-directory", str(tmp_path / name),
                    ],
                    clean_env(),  # no RUNFOLIO_*: the store's address comes with each task
                    tmp_path / f"{name}.log",
                )
            )  # fmt: skip
        with Client(address, timeout=STARTUP_S) as dask_client:  # type: ignore[no-untyped-call]
            dask_client.wait_for_workers(2, timeout=STARTUP_S)

        script = tmp_path / "flow.py"
        script.write_text(FLOW_SCRIPT)
        flow_env = {
            **clean_env(),
            "RUNFOLIO_API_URL": server.api_url,
            "RUNFOLIO_API_KEY": key,
            "RUNFOLIO_HOME": str(tmp_path / "flow-home"),
        }
        result = subprocess.run(
            [python, str(script), address],
            env=flow_env,
            capture_output=True,
            text=True,
            timeout=FLOW_S,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"TOTAL {sum(i * i for i in range(20))}" in result.stdout

        client = client_for(
            Settings(home=tmp_path / "check-home", api_url=server.api_url, api_key=key)
        )
        (flow_run,) = client.filter_flow_runs(FlowRunFilterBody())
        assert flow_run.state_type == "COMPLETED"
        runs = all_task_runs(client, flow_run.id)
        assert sorted(r.name for r in runs) == sorted(f"part-{i}" for i in range(20))
        assert {r.state_type for r in runs} == {"COMPLETED"}
        assert {r.labels["dask.worker"] for r in runs} == {"worker-a", "worker-b"}
        run_ids = {r.id for r in runs}

        artifacts = client.filter_artifacts(ArtifactFilterBody(limit=200))
        assert sorted(a.key or "" for a in artifacts) == sorted(f"part-{i}" for i in range(20))
        assert {a.flow_run_id for a in artifacts} == {flow_run.id}
        assert {a.task_run_id for a in artifacts} == run_ids  # one per task run
        by_run = {r.id: r.name for r in runs}
        assert all(
            by_run[a.task_run_id] == f"part-{a.key.split('-')[1]}"
            for a in artifacts
            if a.key and a.task_run_id
        )

        logs = [x for x in client.read_logs(flow_run.id) if x.message.startswith("part ")]
        assert len(logs) == 20
        assert {x.task_run_id for x in logs} == run_ids
        assert all(
            x.message == f"{by_run[x.task_run_id]} done".replace("-", " ")
            for x in logs
            if x.task_run_id
        )
        client.close()
