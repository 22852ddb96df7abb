"""Bodies of the filter and count routes.

Unknown top-level keys are ignored (as the protocol does); unknown keys inside
a filter object are refused.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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


class _Paged(_Body):
    limit: int | None = None
    offset: int | None = Field(default=None, ge=0)


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
