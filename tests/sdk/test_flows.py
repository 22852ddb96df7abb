"""Flow and task run tracking: states, nesting, async, retries, threads, logs."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from runfolio import flow, get_run_context, get_run_logger, task
from runfolio.artifacts import create_markdown_artifact
from runfolio.client import RunfolioClient
from runfolio.context import FlowRunContext, MissingContextError, TaskRunContext
from runfolio.schemas.bodies import FlowRunFilterBody, TaskRunFilterBody
from runfolio.schemas.filters import FlowRunFilter, IdAnyIsNull, NameFilter, TaskRunFilter


def only_flow_run(client: RunfolioClient, name: str):  # type: ignore[no-untyped-def]
    runs = client.filter_flow_runs(FlowRunFilterBody())
    flows = {client.read_flow(r.flow_id).name: r for r in runs}
    return flows[name]


def task_runs_of(client: RunfolioClient, flow_run_id):  # type: ignore[no-untyped-def]
    body = TaskRunFilterBody(task_runs=TaskRunFilter(flow_run_id=IdAnyIsNull(any_=[flow_run_id])))
    return sorted(client.filter_task_runs(body), key=lambda t: t.name)


def test_flow_records_states_times_and_parameters(client: RunfolioClient) -> None:
    @flow(name="etl-job")
    def etl(rows: int, mode: str = "full") -> int:
        return rows * 2

    assert etl(21) == 42
    run = only_flow_run(client, "etl-job")
    assert run.state_type == "COMPLETED"
    assert run.parameters == {"rows": 21, "mode": "full"}
    assert run.start_time is not None and run.end_time is not None
    assert run.end_time >= run.start_time and run.run_count == 1
    states = [s.type for s in client.read_flow_run_states(run.id)]
    assert states == ["PENDING", "RUNNING", "COMPLETED"]


def test_default_flow_name_and_unserialisable_parameters(client: RunfolioClient) -> None:
    @flow
    def my_flow(obj: object) -> None:
        return None

    my_flow(object())
    run = only_flow_run(client, "my-flow")
    assert run.parameters["obj"].startswith("<object object")


def test_failing_flow_is_recorded_and_reraised(client: RunfolioClient) -> None:
    @task
    def boom() -> None:
        raise KeyError("missing column")

    @flow
    def broken() -> None:
        boom()

    with pytest.raises(KeyError):
        broken()
    run = only_flow_run(client, "broken")
    assert run.state_type == "FAILED"
    assert "KeyError" in run.state.message and "missing column" in run.state.message
    (task_run,) = task_runs_of(client, run.id)
    assert task_run.state_type == "FAILED" and task_run.end_time is not None


def test_task_outside_a_flow_just_runs(client: RunfolioClient) -> None:
    @task
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    assert client.filter_task_runs(TaskRunFilterBody()) == []


def test_tasks_are_linked_and_named_per_call(client: RunfolioClient) -> None:
    @task(name="square")
    def sq(x: int) -> int:
        return x * x

    @flow
    def squares() -> list[int]:
        return [sq(i) for i in range(3)]

    assert squares() == [0, 1, 4]
    run = only_flow_run(client, "squares")
    tasks = task_runs_of(client, run.id)
    assert [t.name for t in tasks] == ["square-0", "square-1", "square-2"]
    assert all(t.state_type == "COMPLETED" and t.start_time and t.end_time for t in tasks)
    states = [s.type for s in client.read_task_run_states(tasks[0].id)]
    assert states == ["RUNNING", "COMPLETED"]


def test_subflows_link_to_the_calling_task_run(client: RunfolioClient) -> None:
    @flow
    def child() -> str:
        return "child"

    @task
    def calls_child() -> str:
        return child()

    @flow
    def parent() -> list[str]:
        return [child(), calls_child()]

    assert parent() == ["child", "child"]
    runs = client.filter_flow_runs(FlowRunFilterBody())
    parent_run = next(r for r in runs if r.parent_task_run_id is None)
    children = [r for r in runs if r.parent_task_run_id is not None]
    assert len(children) == 2
    linked = [client.read_task_run(c.parent_task_run_id) for c in children if c.parent_task_run_id]
    assert {t.name for t in linked} == {"child-0", "calls_child-0"}
    assert all(t.flow_run_id == parent_run.id for t in linked)
    assert all(c.state_type == "COMPLETED" for c in children)


def test_task_retries_record_each_attempt(client: RunfolioClient) -> None:
    attempts: list[int] = []

    @task(retries=2, retry_delay_seconds=0)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)} failed")
        return "ok"

    @flow
    def retrying() -> str:
        return flaky()

    assert retrying() == "ok"
    (task_run,) = task_runs_of(client, only_flow_run(client, "retrying").id)
    assert task_run.run_count == 3 and task_run.state_type == "COMPLETED"
    names = [s.name for s in client.read_task_run_states(task_run.id)]
    assert names == [
        "Running",
        "AwaitingRetry",
        "Retrying",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]


def test_retries_exhausted_fail_the_task(client: RunfolioClient) -> None:
    @task(retries=1, retry_delay_seconds=[0])
    def always() -> None:
        raise ValueError("nope")

    @flow
    def doomed() -> None:
        always()

    with pytest.raises(ValueError):
        doomed()
    (task_run,) = task_runs_of(client, only_flow_run(client, "doomed").id)
    assert task_run.state_type == "FAILED" and task_run.run_count == 2


def flow_state_names(client: RunfolioClient, name: str) -> list[str]:
    return [s.name for s in client.read_flow_run_states(only_flow_run(client, name).id)]


def test_flow_retries_record_each_attempt(client: RunfolioClient) -> None:
    attempts: list[int] = []

    @flow(retries=2, retry_delay_seconds=0.01)
    def flaky_flow() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt failed")
        return "ok"

    assert flaky_flow() == "ok"
    run = only_flow_run(client, "flaky-flow")
    assert run.state_type == "COMPLETED" and run.run_count == 2
    names = flow_state_names(client, "flaky-flow")
    assert names == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
    (waiting,) = [s for s in client.read_flow_run_states(run.id) if s.name == "AwaitingRetry"]
    assert waiting.message is not None
    assert "Attempt 1 failed (RuntimeError: first attempt failed)" in waiting.message
    assert "retrying in 0.01 s" in waiting.message


def test_flow_retries_exhausted_fail_the_flow(client: RunfolioClient) -> None:
    calls: list[int] = []

    @flow(retries=2, retry_delay_seconds=[0, 0.01])
    def doomed_flow() -> None:
        calls.append(1)
        raise ValueError(f"attempt {len(calls)}")

    with pytest.raises(ValueError, match="attempt 3"):
        doomed_flow()
    run = only_flow_run(client, "doomed-flow")
    assert len(calls) == 3
    assert run.state_type == "FAILED" and run.run_count == 3 and run.end_time is not None
    assert run.state.message is not None and "ValueError: attempt 3" in run.state.message
    names = flow_state_names(client, "doomed-flow")
    assert names == ["Pending", "Running"] + ["AwaitingRetry", "Retrying"] * 2 + ["Failed"]


def test_async_flow_retries(client: RunfolioClient) -> None:
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0.01)
    async def flaky_async() -> str:
        await asyncio.sleep(0)
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt failed")
        return "ok"

    @flow(retries=1)
    async def doomed_async() -> None:
        raise ValueError("always")

    assert asyncio.run(flaky_async()) == "ok"
    with pytest.raises(ValueError, match="always"):
        asyncio.run(doomed_async())

    done = only_flow_run(client, "flaky-async")
    assert done.state_type == "COMPLETED" and done.run_count == 2
    names = flow_state_names(client, "flaky-async")
    assert names == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
    failed = only_flow_run(client, "doomed-async")
    assert failed.state_type == "FAILED" and failed.run_count == 2
    names = flow_state_names(client, "doomed-async")
    assert names == ["Pending", "Running", "AwaitingRetry", "Retrying", "Failed"]


def test_an_interrupt_is_not_retried(client: RunfolioClient) -> None:
    calls: list[int] = []

    @flow(retries=3)
    def interrupted() -> None:
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert len(calls) == 1
    assert only_flow_run(client, "interrupted").state_type == "CRASHED"


def test_async_flow_and_tasks(client: RunfolioClient) -> None:
    @task
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @flow
    async def doubled() -> list[int]:
        return list(await asyncio.gather(*(double(i) for i in range(4))))

    assert asyncio.run(doubled()) == [0, 2, 4, 6]
    run = only_flow_run(client, "doubled")
    assert run.state_type == "COMPLETED"
    assert len(task_runs_of(client, run.id)) == 4


def test_submitted_tasks_keep_their_context_in_threads(client: RunfolioClient) -> None:
    seen: dict[int, tuple[str, str]] = {}

    @task
    def work(i: int) -> str:
        ctx = get_run_context()
        assert isinstance(ctx, TaskRunContext)
        seen[i] = (threading.current_thread().name, str(ctx.task_run_id))
        return str(create_markdown_artifact(f"# {i}", key=f"thread-{i}"))

    @flow
    def fan_out() -> list[str]:
        futures = work.map(range(6))
        return [f.result() for f in futures]

    ids = fan_out()
    assert all(name.startswith("runfolio-task") for name, _ in seen.values())
    for i, artifact_id in enumerate(ids):
        stored = client.read_artifact(__import__("uuid").UUID(artifact_id))
        assert str(stored.task_run_id) == seen[i][1]
    run = only_flow_run(client, "fan-out")
    assert len(task_runs_of(client, run.id)) == 6


def test_run_context_inside_and_outside(client: RunfolioClient) -> None:
    with pytest.raises(MissingContextError, match="No run context"):
        get_run_context()

    @flow
    def ctx_flow() -> str:
        ctx = get_run_context()
        assert isinstance(ctx, FlowRunContext)
        return ctx.flow_run.name

    name = ctx_flow()
    runs = client.filter_flow_runs(
        FlowRunFilterBody(flow_runs=FlowRunFilter(name=NameFilter(any_=[name])))
    )
    assert len(runs) == 1


def test_log_prints_and_run_logger_are_stored(
    client: RunfolioClient, capsys: pytest.CaptureFixture[str]
) -> None:
    @task
    def noisy() -> None:
        print("from the task")
        get_run_logger().warning("careful")

    @flow(log_prints=True)
    def chatty() -> None:
        print("hello from the flow")
        noisy()

    chatty()
    assert "hello from the flow" in capsys.readouterr().out
    run = only_flow_run(client, "chatty")
    messages = [
        (log.level, log.message, log.task_run_id is not None) for log in client.read_logs(run.id)
    ]
    assert (20, "hello from the flow", False) in messages
    assert (20, "from the task", True) in messages
    assert (30, "careful", True) in messages


def test_prints_are_not_stored_without_log_prints(client: RunfolioClient) -> None:
    @flow
    def quiet() -> None:
        print("not stored")

    quiet()
    assert client.read_logs(only_flow_run(client, "quiet").id) == []


def test_sigterm_records_the_run_as_crashed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from runfolio.client import client_for
    from runfolio.settings import Settings

    script = (
        "import time\n"
        "from runfolio import flow, task\n"
        "@task\n"
        "def slow():\n"
        "    print('started', flush=True)\n"
        "    time.sleep(60)\n"
        "@flow\n"
        "def long_job():\n"
        "    slow()\n"
        "long_job()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    proc.stdout.close()
    client = client_for(Settings(home=tmp_path, api_url=None))
    (run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert run.state_type == "CRASHED" and run.end_time is not None
    (task_run,) = task_runs_of(client, run.id)
    assert task_run.state_type == "CRASHED"
