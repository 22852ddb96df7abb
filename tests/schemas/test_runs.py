"""Run schemas: the cheap constructor the SDK uses on every task call."""

from __future__ import annotations

import uuid

from runfolio.schemas.common import utcnow
from runfolio.schemas.runs import StateCreate, StateType, TaskRun, TaskRunCreate


def test_started_task_run_gives_every_field_and_is_valid() -> None:
    state = StateCreate(type=StateType.RUNNING, name="Running", timestamp=utcnow())
    action = TaskRunCreate(
        id=uuid.uuid4(),
        name="load-3",
        flow_run_id=uuid.uuid4(),
        task_key="etl.load",
        dynamic_key="3",
        tags=["nightly"],
        task_inputs={"parameters": {"rows": 10}},
        empirical_policy={"retries": 2, "retry_delay": 1},
        state=state,
    )

    run = TaskRun.started(action, state)

    # Every field given: model_construct then fills in no defaults.
    assert run.model_fields_set == set(TaskRun.model_fields)
    assert TaskRun.model_validate(run.model_dump()) == run
    assert (run.id, run.name, run.task_key, run.dynamic_key) == (
        action.id,
        "load-3",
        "etl.load",
        "3",
    )
    assert (run.state_type, run.state_name, run.run_count) == (StateType.RUNNING, "Running", 1)
    assert run.created == run.start_time == run.expected_start_time == state.timestamp
    assert run.end_time is None and run.labels == {}
    assert run.task_inputs == {"parameters": {"rows": 10}} and run.tags == ["nightly"]
