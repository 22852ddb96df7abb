"""The SDK names every state and log line it writes, so a resent write is stored once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from runfolio import flow, get_run_logger, task
from runfolio.client import RunfolioClient
from runfolio.schemas.bodies import FlowRunFilterBody, TaskRunFilterBody
from runfolio.schemas.runs import LogCreate, TaskRunRecordFields


def test_states_and_logs_carry_ids_and_resending_them_stores_nothing(
    client: RunfolioClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, Any]] = []

    def spy(name: str) -> None:
        original = getattr(client, name)

        def wrapper(*args: Any) -> Any:
            sent.append((name, args))
            return original(*args)

        monkeypatch.setattr(client, name, wrapper)

    for name in ("set_flow_run_state", "set_task_run_state", "record_task_runs", "create_logs"):
        spy(name)

    @task
    def double(x: int) -> int:
        get_run_logger().info("doubling %d", x)
        return x * 2

    @flow
    def child() -> int:
        return double(1)

    @flow(log_prints=True)
    def parent() -> int:
        print("start")
        return child() + double(2)

    assert parent() == 6

    states = [a[1] for n, a in sent if n in ("set_flow_run_state", "set_task_run_state")]
    records: list[TaskRunRecordFields] = [
        r for n, a in sent if n == "record_task_runs" for r in a[0]
    ]
    states += [s for r in records for s in r.states]
    logs: list[LogCreate] = [line for n, a in sent if n == "create_logs" for line in a[0]]
    assert len(logs) == 3 and len(records) >= 2
    assert all(isinstance(s.id, uuid.UUID) for s in states)
    assert all(line.id is not None for line in logs)
    assert len({s.id for s in states}) == len(states)  # one id per state, every run its own

    # What the store holds carries the ids the SDK chose.
    runs = client.filter_flow_runs(FlowRunFilterBody())
    tasks = client.filter_task_runs(TaskRunFilterBody())
    stored_states = [s for r in runs for s in client.read_flow_run_states(r.id)]
    stored_states += [s for t in tasks for s in client.read_task_run_states(t.id)]
    stored_logs = [line for r in runs for line in client.read_logs(r.id)]
    assert {s.id for s in states} <= {s.id for s in stored_states}
    assert {line.id for line in logs} == {line.id for line in stored_logs}

    # Resent through the embedded client (ops, store), every write is a replay.
    before = (runs, tasks, stored_states, stored_logs)
    for name, args in list(sent):
        getattr(client, name)(*args)
    runs_again = client.filter_flow_runs(FlowRunFilterBody())
    tasks_again = client.filter_task_runs(TaskRunFilterBody())
    after = (
        runs_again,
        tasks_again,
        [s for r in runs_again for s in client.read_flow_run_states(r.id)]
        + [s for t in tasks_again for s in client.read_task_run_states(t.id)],
        [line for r in runs_again for line in client.read_logs(r.id)],
    )
    assert after == before
    assert all(isinstance(s.id, uuid.UUID) for s in after[2])
