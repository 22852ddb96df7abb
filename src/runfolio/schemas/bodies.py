"""Bodies of the filter and count routes (logs included).

Unknown top-level keys are ignored (as the protocol does); unknown keys inside
a filter object are refused.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from runfolio.schemas.common import NUMBER_ONLY, JsonInt
from runfolio.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactFilter,
    DeploymentFilter,
    FlowFilter,
    FlowRunFilter,
    TaskRunFilter,
)
from runfolio.schemas.sorting import ArtifactSort, FlowRunSort, FlowSort, TaskRunSort


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# No page starts further in; the bound also keeps OFFSET inside what databases take.
MAX_OFFSET = 2**31 - 1

Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET), NUMBER_ONLY]
# The bounds of `limit` are checked by `resolve_page`, which answers them with the
# protocol's own `{"detail": ...}` text; the app writes the maximum into the document.
Limit = Annotated[JsonInt, Field(json_schema_extra={"minimum": 0})]


class _Paged(_Body):
    limit: Limit | None = None
    offset: Offset | None = None


class RelatedFilters(_Body):
    """The cross-object sub-filters every artifact query accepts."""

    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    flows: FlowFilter | None = None
    deployments: DeploymentFilter | None = None


class ArtifactCountBody(RelatedFilters):
    artifacts: ArtifactFilter | None = None


class CollectionCountBody(RelatedFilters):
    artifacts: ArtifactCollectionFilter | None = None


class ArtifactFilterBody(ArtifactCountBody, _Paged):
    sort: ArtifactSort | None = None


class CollectionFilterBody(CollectionCountBody, _Paged):
    sort: ArtifactSort | None = None


class FlowFilterBody(_Paged):
    flows: FlowFilter | None = None
    sort: FlowSort | None = None


class FlowRunFilterBody(_Paged):
    flow_runs: FlowRunFilter | None = None
    flows: FlowFilter | None = None
    sort: FlowRunSort | None = None


class TaskRunFilterBody(_Paged):
    task_runs: TaskRunFilter | None = None
    flow_runs: FlowRunFilter | None = None
    sort: TaskRunSort | None = None


class _OneRunId(BaseModel):
    any_: list[uuid.UUID] = Field(min_length=1, max_length=1)


class _LogFilter(_Body):
    flow_run_id: _OneRunId


class LogFilterBody(_Paged):
    """The logs of one flow run: the one log query runfolio answers."""

    logs: _LogFilter
