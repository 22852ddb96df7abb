"""Flows, flow runs, task runs, states and logs, in the protocol's JSON shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from runfolio.schemas.common import (
    BoundedJsonModel,
    DateTime,
    InputDateTime,
    Int32,
    JsonBool,
    ObjectModel,
)


class StateType(StrEnum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


TERMINAL_STATES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED}
)


def default_state_name(state_type: StateType) -> str:
    return state_type.value.capitalize()


class _LenientAction(BoundedJsonModel):
    # Run bodies from other clients carry many optional fields we do not use;
    # they are accepted and ignored rather than refused.
    model_config = ConfigDict(extra="ignore")


class State(ObjectModel):
    id: uuid.UUID
    type: StateType
    name: str
    timestamp: DateTime
    message: str | None = None
    data: Any = None
    state_details: dict[str, Any] = Field(default_factory=dict)


class StateCreate(_LenientAction):
    id: uuid.UUID | None = Field(
        default=None,
        description=(
            "A client-chosen id for the state (a runfolio extension): a state whose id is "
            "already in the run's history is a replay and is stored once."
        ),
    )
    type: StateType
    name: str | None = Field(default=None, max_length=100)
    message: str | None = None
    data: Any = None
    state_details: dict[str, Any] = Field(default_factory=dict)
    timestamp: InputDateTime | None = None


class SetState(_LenientAction):
    state: StateCreate
    force: JsonBool = False


class OrchestrationResult(BaseModel):
    state: State
    status: str = "ACCEPT"
    details: dict[str, Any] = Field(default_factory=lambda: {"type": "accept_details"})


class Flow(ObjectModel):
    id: uuid.UUID
    created: DateTime
    updated: DateTime
    name: str
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)


class FlowCreate(_LenientAction):
    name: str = Field(min_length=1, max_length=500)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] | None = None


class FlowRun(ObjectModel):
    id: uuid.UUID
    created: DateTime
    updated: DateTime
    name: str
    flow_id: uuid.UUID
    state_id: uuid.UUID | None = None
    deployment_id: uuid.UUID | None = None
    deployment_version: str | None = None
    work_queue_id: uuid.UUID | None = None
    work_queue_name: str | None = None
    flow_version: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    empirical_policy: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    parent_task_run_id: uuid.UUID | None = None
    state_type: StateType | None = None
    state_name: str | None = None
    run_count: int = 0
    expected_start_time: DateTime | None = None
    next_scheduled_start_time: DateTime | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    total_run_time: float = 0.0
    estimated_run_time: float = 0.0
    estimated_start_time_delta: float = 0.0
    auto_scheduled: bool = False
    infrastructure_document_id: uuid.UUID | None = None
    infrastructure_pid: str | None = None
    created_by: dict[str, Any] | None = None
    work_pool_id: uuid.UUID | None = None
    work_pool_name: str | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)
    state: State | None = None


class FlowRunCreate(_LenientAction):
    id: uuid.UUID | None = None
    flow_id: uuid.UUID
    name: str | None = Field(default=None, max_length=500)
    flow_version: str | None = Field(default=None, max_length=200)
    parameters: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    parent_task_run_id: uuid.UUID | None = None
    empirical_policy: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] | None = None
    idempotency_key: str | None = None
    work_queue_name: str | None = None
    deployment_id: uuid.UUID | None = None
    state: StateCreate | None = None


class TaskRun(ObjectModel):
    id: uuid.UUID
    created: DateTime
    updated: DateTime
    name: str
    flow_run_id: uuid.UUID | None = None
    task_key: str
    dynamic_key: str
    cache_key: str | None = None
    cache_expiration: DateTime | None = None
    task_version: str | None = None
    empirical_policy: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] = Field(default_factory=dict)
    state_id: uuid.UUID | None = None
    task_inputs: dict[str, Any] = Field(default_factory=dict)
    state_type: StateType | None = None
    state_name: str | None = None
    run_count: int = 0
    flow_run_run_count: int = 0
    expected_start_time: DateTime | None = None
    next_scheduled_start_time: DateTime | None = None
    start_time: DateTime | None = None
    end_time: DateTime | None = None
    total_run_time: float = 0.0
    estimated_run_time: float = 0.0
    estimated_start_time_delta: float = 0.0
    state: State | None = None

    @classmethod
    def started(cls, action: TaskRunCreate, state: StateCreate) -> TaskRun:
        """The run `action` creates, as it reads once it has entered `state` (RUNNING,
        its first attempt under way); `action.id` and `state.timestamp` are set.

        The SDK makes one when a task's code reads its run context's `task_run`. Validating
        a dict with every field given is the quickest way to build it: pydantic's
        `model_construct` loops over the fields in Python (about 3x slower here).
        """
        at = state.timestamp
        return cls.model_validate(
            dict(
                id=action.id,
                created=at,
                updated=at,
                # As the store names an unnamed task run.
                name=action.name or f"{action.task_key}-{action.dynamic_key}",
                flow_run_id=action.flow_run_id,
                task_key=action.task_key,
                dynamic_key=action.dynamic_key,
                cache_key=action.cache_key,
                cache_expiration=None,
                task_version=action.task_version,
                empirical_policy=action.empirical_policy,
                tags=action.tags,
                labels=action.labels or {},
                state_id=None,
                task_inputs=action.task_inputs,
                state_type=state.type,
                state_name=state.name,
                run_count=1,
                flow_run_run_count=0,
                expected_start_time=at,
                next_scheduled_start_time=None,
                start_time=at,
                end_time=None,
                total_run_time=0.0,
                estimated_run_time=0.0,
                estimated_start_time_delta=0.0,
                state=None,
            )
        )


class TaskRunCreate(_LenientAction):
    id: uuid.UUID | None = None
    name: str | None = Field(default=None, max_length=500)
    flow_run_id: uuid.UUID | None = None
    task_key: str = Field(min_length=1, max_length=500)
    dynamic_key: str = Field(default="0", max_length=200)
    cache_key: str | None = Field(default=None, max_length=500)
    task_version: str | None = Field(default=None, max_length=200)
    empirical_policy: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: dict[str, Any] | None = None
    task_inputs: dict[str, Any] = Field(default_factory=dict)
    state: StateCreate | None = None


class LogCreate(_LenientAction):
    id: uuid.UUID | None = Field(
        default=None,
        description=(
            "A client-chosen id for the line (a runfolio extension): a line whose id is "
            "already stored in the workspace is skipped, so a resent batch is stored once."
        ),
    )
    name: str = Field(default="", max_length=500)
    level: Int32  # the column's range; logging's levels are 0-50
    message: str
    timestamp: InputDateTime
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None


class Log(ObjectModel):
    id: uuid.UUID
    created: DateTime
    name: str
    level: int
    message: str
    timestamp: DateTime
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None


class TaskRunRecord(_LenientAction):
    """A task run and the states it went through, written in one go.

    The SDK records task runs in batches (`POST /task_runs/batch`): a run that
    finished between two batches is written once, with its whole history.
    """

    task_run: TaskRunCreate
    states: list[StateCreate] = Field(min_length=1)


# What the store reads of a task run record: a validated `TaskRunRecord` (the API's), or
# the SDK's own records, built from what it noted (valid by construction: a task call's
# names, parameters and states are checked as the call starts, so they are written
# without a second validation).


class StateFields(Protocol):
    """A state to record (`StateCreate`'s fields)."""

    @property
    def id(self) -> uuid.UUID | None: ...
    @property
    def type(self) -> StateType: ...
    @property
    def name(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def data(self) -> Any: ...
    @property
    def state_details(self) -> Mapping[str, Any]: ...
    @property
    def timestamp(self) -> dt.datetime | None: ...


class TaskRunFields(Protocol):
    """A task run to record (`TaskRunCreate`'s fields)."""

    @property
    def id(self) -> uuid.UUID | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def flow_run_id(self) -> uuid.UUID | None: ...
    @property
    def task_key(self) -> str: ...
    @property
    def dynamic_key(self) -> str: ...
    @property
    def cache_key(self) -> str | None: ...
    @property
    def task_version(self) -> str | None: ...
    @property
    def empirical_policy(self) -> Mapping[str, Any]: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def labels(self) -> Mapping[str, Any] | None: ...
    @property
    def task_inputs(self) -> Mapping[str, Any]: ...
    @property
    def state(self) -> StateFields | None: ...


class TaskRunRecordFields(Protocol):
    """A task run and the states it went through (`TaskRunRecord`'s fields)."""

    @property
    def task_run(self) -> TaskRunFields: ...
    @property
    def states(self) -> Sequence[StateFields]: ...
