"""What a task call records, now that its records are built by the background recorder:
parameters as they were at the call, complete state histories in order when the flow
raises, and runs still queued when the interpreter exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runfolio import flow, get_run_context, task
from runfolio._attempts import MAX_PARAMETER_CHARS, ParameterBinder
from runfolio.client import RunfolioClient, client_for
from runfolio.context import TaskRunContext
from runfolio.schemas.bodies import FlowRunFilterBody, TaskRunFilterBody
from runfolio.settings import Settings

# A long str is cut as JSON text: its opening quote kept, an ellipsis at the end.
LONG = '"' + "x" * (MAX_PARAMETER_CHARS - 2) + "…"


def plain(a: int, b: str = "x", c: object = None) -> None: ...


def varied(a: int, /, *rest: int, key: str = "k", **extra: int) -> None: ...


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "expected"),
    [
        (plain, (1,), {}, {"a": 1, "b": "x", "c": None}),
        (plain, (1, "y"), {"c": 2.5}, {"a": 1, "b": "y", "c": 2.5}),
        (plain, (), {"b": "z", "a": 3}, {"a": 3, "b": "z", "c": None}),
        (plain, (1, 2, 3, 4), {}, {}),  # too many: not a call of the signature
        (plain, (1,), {"a": 2}, {}),  # `a` twice
        (plain, (), {"b": "y"}, {}),  # `a` missing
        (plain, (1,), {"d": 1}, {}),  # unknown keyword
        (plain, (True, 10**30, [1, {"k": 1}]), {}, {"a": True, "b": 10**30, "c": [1, {"k": 1}]}),
        (plain, (1, "x" * 5000), {}, {"a": 1, "b": LONG, "c": None}),
        (plain, (1, "é" * 300), {}, {"a": 1, "b": "é" * 300, "c": None}),
        (varied, (1, 2, 3), {"z": 4}, {"a": 1, "rest": [2, 3], "key": "k", "z": 4}),
    ],
)
def test_parameters_are_named_as_the_signature_binds_them(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert ParameterBinder(fn)(args, kwargs) == expected


def test_runs_are_recorded_whole_and_in_order_when_the_flow_raises(
    client: RunfolioClient,
) -> None:
    seen: list[object] = []

    @task
    def take(rows: list[int]) -> int:
        ctx = get_run_context()
        assert isinstance(ctx, TaskRunContext)
        seen.append(ctx.task_run.id == ctx.task_run_id and ctx.task_run.state_type)
        rows.append(99)  # changed after the call: the run keeps the rows as called
        return len(rows)

    @task
    def fail(step: str) -> None:
        raise ValueError(step)

    @flow
    def pipeline() -> None:
        rows = [1, 2]
        take(rows)
        take(rows)
        fail("load")

    with pytest.raises(ValueError, match="load"):
        pipeline()

    (run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert run.state_type == "FAILED"
    runs = sorted(client.filter_task_runs(TaskRunFilterBody()), key=lambda r: r.name)
    assert [(r.name, r.state_type) for r in runs] == [
        ("fail-0", "FAILED"),
        ("take-0", "COMPLETED"),
        ("take-1", "COMPLETED"),
    ]
    assert [r.task_inputs["parameters"] for r in runs] == [
        {"step": "load"},
        {"rows": [1, 2]},
        {"rows": [1, 2, 99]},
    ]
    assert seen == ["RUNNING", "RUNNING"]
    assert runs[1].end_time is not None and runs[2].start_time is not None
    assert runs[1].end_time <= runs[2].start_time  # the times of the calls, not of the writes
    for task_run in runs:
        states = client.read_task_run_states(task_run.id)
        assert [s.type for s in states] == ["RUNNING", task_run.state_type]
        assert states[0].timestamp <= states[1].timestamp
        assert task_run.state_id == states[1].id


def test_a_parameter_nested_past_the_limit_is_refused_before_the_task_runs(
    client: RunfolioClient,
) -> None:
    called: list[object] = []

    @task
    def keep(value: object) -> None:
        called.append(value)

    deep: list[Any] = []
    for _ in range(70):
        deep = [deep]

    @flow
    def nested() -> None:
        keep(deep)

    with pytest.raises(ValidationError, match="nests deeper"):
        nested()
    assert called == []


def test_runs_still_queued_at_exit_are_written(tmp_path: Path) -> None:
    # The flow runs in a daemon thread the interpreter does not wait for: its task run
    # is only queued when the main thread returns, and the exit hook writes it.
    script = (
        "import threading\n"
        "from runfolio import flow, task\n"
        "done = threading.Event()\n"
        "@task\n"
        "def step(n):\n"
        "    return n\n"
        "@flow\n"
        "def forever():\n"
        "    step(7)\n"
        "    done.set()\n"
        "    threading.Event().wait()\n"
        "threading.Thread(target=forever, daemon=True).start()\n"
        "done.wait(30)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(tmp_path)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    client = client_for(Settings(home=tmp_path, api_url=None))
    try:
        (task_run,) = client.filter_task_runs(TaskRunFilterBody())
        assert (task_run.name, task_run.state_type) == ("step-0", "COMPLETED")
        assert task_run.task_inputs["parameters"] == {"n": 7}
        states = client.read_task_run_states(task_run.id)
        assert [s.type for s in states] == ["RUNNING", "COMPLETED"]
    finally:
        client.close()
