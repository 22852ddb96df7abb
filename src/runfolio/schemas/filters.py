"""Filter criteria, in the grammar of the protocol (`any_`, `like_`, `exists_`, …).

Booleans, integers and times are taken only in their JSON types (no `0` for false,
no number for a time), as the document declares them.

One set of models serves the API, the embedded client, the CLI and the UI;
`runfolio.store.filtering` is the one place that turns them into SQL.
"""

from __future__ import annotations

import uuid
from typing import Literal

from runfolio.schemas.common import FilterModel, InputDateTime, JsonBool, JsonInt

Operator = Literal["and_", "or_"]


class _Op(FilterModel):
    operator: Operator = "and_"


# -- leaf criteria -----------------------------------------------------------------


class IdAny(FilterModel):
    any_: list[uuid.UUID] | None = None


class IdAnyNotAny(FilterModel):
    any_: list[uuid.UUID] | None = None
    not_any_: list[uuid.UUID] | None = None


class IdAnyIsNull(_Op):
    any_: list[uuid.UUID] | None = None
    is_null_: JsonBool | None = None


class StrAny(FilterModel):
    any_: list[str] | None = None


class StrAnyNotAny(FilterModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None


class StrAnyIsNull(_Op):
    any_: list[str] | None = None
    is_null_: JsonBool | None = None


class NameFilter(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None


class KeyFilter(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None
    exists_: JsonBool | None = None


class TypeFilter(FilterModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None


class TagsFilter(_Op):
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: JsonBool | None = None


class TimeFilter(FilterModel):
    before_: InputDateTime | None = None
    after_: InputDateTime | None = None
    is_null_: JsonBool | None = None


class StateFilter(_Op):
    type: StrAnyNotAny | None = None
    name: StrAnyNotAny | None = None


class ExistsFilter(FilterModel):
    exists_: JsonBool | None = None


class CreatedByFilter(_Op):
    id_: list[uuid.UUID] | None = None
    type_: list[str] | None = None
    is_null_: JsonBool | None = None


class IsNullFilter(_Op):
    is_null_: JsonBool | None = None


class EqFilter(FilterModel):
    eq_: JsonBool | None = None


class RangeFilter(FilterModel):
    ge_: JsonInt | None = None
    le_: JsonInt | None = None
    is_null_: JsonBool | None = None


class LikeFilter(FilterModel):
    like_: str | None = None


# -- object filters ---------------------------------------------------------------


class ArtifactFilter(_Op):
    id: IdAny | None = None
    key: KeyFilter | None = None
    flow_run_id: IdAny | None = None
    task_run_id: IdAny | None = None
    type: TypeFilter | None = None


class ArtifactCollectionFilter(_Op):
    latest_id: IdAny | None = None
    key: KeyFilter | None = None
    flow_run_id: IdAny | None = None
    task_run_id: IdAny | None = None
    type: TypeFilter | None = None


class FlowFilter(_Op):
    id: IdAnyNotAny | None = None
    deployment: IsNullFilter | None = None
    name: NameFilter | None = None
    tags: TagsFilter | None = None


class FlowRunFilter(_Op):
    id: IdAnyNotAny | None = None
    name: NameFilter | None = None
    tags: TagsFilter | None = None
    deployment_id: IdAnyIsNull | None = None
    work_queue_name: StrAnyIsNull | None = None
    state: StateFilter | None = None
    flow_version: StrAny | None = None
    start_time: TimeFilter | None = None
    end_time: TimeFilter | None = None
    expected_start_time: TimeFilter | None = None
    next_scheduled_start_time: TimeFilter | None = None
    parent_flow_run_id: IdAnyIsNull | None = None
    parent_task_run_id: IdAnyIsNull | None = None
    idempotency_key: StrAnyNotAny | None = None
    created_by: CreatedByFilter | None = None


class TaskRunFilter(_Op):
    id: IdAny | None = None
    name: NameFilter | None = None
    tags: TagsFilter | None = None
    state: StateFilter | None = None
    start_time: TimeFilter | None = None
    end_time: TimeFilter | None = None
    expected_start_time: TimeFilter | None = None
    subflow_runs: ExistsFilter | None = None
    flow_run_id: IdAnyIsNull | None = None


class DeploymentFilter(_Op):
    id: IdAnyNotAny | None = None
    name: NameFilter | None = None
    flow_or_deployment_name: LikeFilter | None = None
    paused: EqFilter | None = None
    tags: TagsFilter | None = None
    work_queue_name: StrAny | None = None
    concurrency_limit: RangeFilter | None = None
