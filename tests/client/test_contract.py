"""The client interface behaves the same on the embedded store and over HTTP."""

from __future__ import annotations

import uuid

import pytest

from runfolio.client import RunfolioClient
from runfolio.errors import Conflict, Invalid, NotFound
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
    FlowRunFilterBody,
    TaskRunFilterBody,
)
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactFilter,
    FlowRunFilter,
    IdAny,
    IdAnyIsNull,
    IdAnyNotAny,
    KeyFilter,
    TaskRunFilter,
)
from runfolio.schemas.runs import (
    FlowCreate,
    FlowRunCreate,
    LogCreate,
    StateCreate,
    StateType,
    TaskRunCreate,
    TaskRunRecord,
)
from runfolio.schemas.sorting import ArtifactSort


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def key_filter(key: str) -> ArtifactFilter:
    return ArtifactFilter(key=KeyFilter(any_=[key]))


def test_create_read_and_versions(transport: RunfolioClient) -> None:
    key = unique("k")
    first = transport.create_artifact(ArtifactCreate(key=key, type="markdown", data="# v1"))
    second = transport.create_artifact(
        ArtifactCreate(key=key, type="markdown", data="# v2", description="d", metadata_={"a": "b"})
    )
    assert transport.read_artifact(first.id).data == "# v1"
    assert transport.read_latest_artifact(key).id == second.id
    found = transport.filter_artifacts(
        ArtifactFilterBody(artifacts=key_filter(key), sort=ArtifactSort.CREATED_DESC)
    )
    assert [a.id for a in found] == [second.id, first.id]
    assert found[0].metadata_ == {"a": "b"}
    assert transport.count_artifacts(ArtifactCountBody(artifacts=key_filter(key))) == 2
    latest = transport.filter_latest_artifacts(
        CollectionFilterBody(artifacts=ArtifactCollectionFilter(key=KeyFilter(any_=[key])))
    )
    assert [c.latest_id for c in latest] == [second.id]
    count_body = CollectionCountBody(artifacts=ArtifactCollectionFilter(key=KeyFilter(any_=[key])))
    assert transport.count_latest_artifacts(count_body) == 1


def test_data_round_trips_exactly(transport: RunfolioClient) -> None:
    values = [100.0, 0.0, 42.5, "[1, 2]", '[{"x": Infinity}]', {"a": [1, "two", 3.0]}, None, [1, 2]]
    for value in values:
        created = transport.create_artifact(ArtifactCreate(type="other", data=value))
        assert transport.read_artifact(created.id).data == value
        assert type(transport.read_artifact(created.id).data) is type(value)


def test_idempotent_create_and_conflict(transport: RunfolioClient) -> None:
    chosen = new_id()
    action = ArtifactCreate(id=chosen, key=unique("idem"), type="markdown", data="x")
    assert transport.create_artifact(action).id == chosen
    assert transport.create_artifact(action).id == chosen
    assert (
        transport.count_artifacts(
            ArtifactCountBody(artifacts=ArtifactFilter(id=IdAny(any_=[chosen])))
        )
        == 1
    )
    with pytest.raises(Conflict):
        transport.create_artifact(
            ArtifactCreate(id=chosen, key=action.key, type="markdown", data="y")
        )


def test_update_and_delete(transport: RunfolioClient) -> None:
    key = unique("upd")
    old = transport.create_artifact(ArtifactCreate(key=key, type="progress", data=1.0))
    new = transport.create_artifact(ArtifactCreate(key=key, type="progress", data=2.0))
    transport.update_artifact(new.id, ArtifactUpdate(data=50.0))
    assert transport.read_latest_artifact(key).data == 50.0
    # Data that does not fit its type is stored as sent, as the protocol's server does
    # (RUNFOLIO_STRICT_ARTIFACT_DATA refuses it; tests/server/test_data_types.py).
    transport.update_artifact(new.id, ArtifactUpdate(data="half"))
    assert transport.read_artifact(new.id).data == "half"
    transport.delete_artifact(new.id)
    assert transport.read_latest_artifact(key).id == old.id
    transport.delete_artifact(old.id)
    with pytest.raises(NotFound):
        transport.read_latest_artifact(key)
    with pytest.raises(NotFound):
        transport.delete_artifact(old.id)
    with pytest.raises(NotFound):
        transport.update_artifact(uuid.uuid4(), ArtifactUpdate(data=1))
    with pytest.raises(NotFound):
        transport.read_artifact(uuid.uuid4())


def test_refused_input_is_reported_as_invalid(transport: RunfolioClient) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        ArtifactCreate(key="Bad Key")  # refused before anything is sent
    with pytest.raises(Invalid, match="limit"):
        transport.filter_artifacts(ArtifactFilterBody(limit=100_000))


def test_flows_runs_states_and_logs(transport: RunfolioClient) -> None:
    flow = transport.create_flow(FlowCreate(name=unique("flow")))
    assert transport.create_flow(FlowCreate(name=flow.name)).id == flow.id
    assert transport.read_flow(flow.id).name == flow.name
    run = transport.create_flow_run(
        FlowRunCreate(id=new_id(), flow_id=flow.id, parameters={"n": 1})
    )
    assert run.state_type == StateType.PENDING and run.parameters == {"n": 1}
    running = transport.set_flow_run_state(run.id, StateCreate(type=StateType.RUNNING))
    assert running.type == StateType.RUNNING
    task = transport.create_task_run(
        TaskRunCreate(id=new_id(), flow_run_id=run.id, task_key="t", dynamic_key="0", name="t-0")
    )
    transport.set_task_run_state(task.id, StateCreate(type=StateType.RUNNING))
    transport.set_task_run_state(task.id, StateCreate(type=StateType.COMPLETED))
    done = transport.set_flow_run_state(run.id, StateCreate(type=StateType.COMPLETED, message="ok"))
    assert done.message == "ok"
    stored = transport.read_flow_run(run.id)
    assert stored.state_type == StateType.COMPLETED and stored.end_time is not None
    assert [s.type for s in transport.read_flow_run_states(run.id)] == [
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    assert transport.read_task_run(task.id).state_type == StateType.COMPLETED
    assert [s.type for s in transport.read_task_run_states(task.id)] == [
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    runs = transport.filter_flow_runs(
        FlowRunFilterBody(flow_runs=FlowRunFilter(id=IdAnyNotAny(any_=[run.id])))
    )
    assert [r.id for r in runs] == [run.id]
    tasks = transport.filter_task_runs(
        TaskRunFilterBody(task_runs=TaskRunFilter(flow_run_id=IdAnyIsNull(any_=[run.id])))
    )
    assert [t.id for t in tasks] == [task.id]
    transport.create_logs(
        [LogCreate(name="x", level=20, message="hello", timestamp=utcnow(), flow_run_id=run.id)]
    )
    assert [log.message for log in transport.read_logs(run.id)] == ["hello"]
    with pytest.raises(NotFound):
        transport.read_flow_run(uuid.uuid4())
    with pytest.raises(NotFound):
        transport.set_task_run_state(uuid.uuid4(), StateCreate(type=StateType.RUNNING))


def test_batched_task_run_records(transport: RunfolioClient) -> None:
    flow = transport.create_flow(FlowCreate(name=unique("batch")))
    run = transport.create_flow_run(FlowRunCreate(flow_id=flow.id))
    start, end = utcnow(), utcnow()
    first = TaskRunCreate(
        id=new_id(), flow_run_id=run.id, task_key="a", dynamic_key="0", name="a-0"
    )
    assert first.id is not None
    running = StateCreate(type=StateType.RUNNING, timestamp=start)
    transport.record_task_runs([TaskRunRecord(task_run=first, states=[running])])
    assert transport.read_task_run(first.id).state_type == StateType.RUNNING
    completed = StateCreate(type=StateType.COMPLETED, timestamp=end)
    second = TaskRunCreate(
        id=new_id(), flow_run_id=run.id, task_key="a", dynamic_key="1", name="a-1"
    )
    assert second.id is not None
    transport.record_task_runs(
        [
            TaskRunRecord(task_run=first, states=[completed]),
            TaskRunRecord(task_run=second, states=[running, completed]),
        ]
    )
    for task_id in (first.id, second.id):
        stored = transport.read_task_run(task_id)
        assert stored.state_type == StateType.COMPLETED
        assert (stored.start_time, stored.end_time) == (start, end)
        assert [s.type for s in transport.read_task_run_states(task_id)] == ["RUNNING", "COMPLETED"]
