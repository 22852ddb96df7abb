"""What each page shows: one model per page, rendered as HTML or as its JSON twin."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from pydantic import BaseModel, Field, computed_field

from runfolio.schemas.artifacts import Artifact
from runfolio.schemas.runs import Log
from runfolio.schemas.sorting import ArtifactSort
from runfolio.server.ui.render import LINK_TYPE, Kind
from runfolio.server.ui.trend_chart import TrendChart
from runfolio.store.views import RunLabel, RunSummary, TaskRunSummary

# The Type filter's choices: the stored types, and links (markdown that is one link).
ARTIFACT_TYPES = ("markdown", LINK_TYPE, "table", "image", "progress", "chart", "html", "file")
ARTIFACT_SORTS = (
    ArtifactSort.UPDATED_DESC,
    ArtifactSort.CREATED_DESC,
    ArtifactSort.KEY_ASC,
    ArtifactSort.KEY_DESC,
)
RUN_STATES = (
    "SCHEDULED",
    "PENDING",
    "RUNNING",
    "PAUSED",
    "CANCELLING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "CRASHED",
)


class Header(BaseModel):
    """The page header's account controls (not part of any JSON twin: it holds the
    CSRF token)."""

    auth_on: bool
    user: str | None = Field(description="The signed-in user (None: not signed in).")
    csrf_token: str
    workspaces: list[str] = Field(description="The workspaces the caller may read, as paths.")
    current: str | None = Field(description="The workspace the pages show.")
    manages: bool = Field(
        default=False, description="Whether the user manages the current workspace's members."
    )


class Paging(BaseModel):
    page: int
    per_page: int
    total: int

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects decorators over a property
    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.per_page, self.total)


# -- artifacts ------------------------------------------------------------------------


class ArtifactRow(BaseModel):
    """A key on the Artifacts page (its latest version)."""

    key: str
    latest_id: uuid.UUID
    type: str | None
    kind: Kind
    description: str | None = Field(description="The first characters of the description.")
    data: Any = Field(
        description="The data as stored when small and of a type the list shows "
        "(markdown, links, progress, image URLs), else null."
    )
    notice: str | None = Field(
        default=None, description="Why the data is shown as stored (it does not fit its type)."
    )
    data_text: str | None = Field(
        default=None, description="The stored JSON text, when it cannot be decoded (data null)."
    )
    created: dt.datetime
    updated: dt.datetime
    flow_run: RunLabel | None
    task_run_id: uuid.UUID | None


class ArtifactsPage(BaseModel):
    q: str | None
    type: str | None
    sort: ArtifactSort
    items: list[ArtifactRow]
    paging: Paging


class ArtifactView(BaseModel):
    """One artifact version, ready to render, with the names of its runs."""

    artifact: Artifact
    kind: Kind
    notice: str | None = Field(
        default=None, description="Why the data is shown as stored (it does not fit its type)."
    )
    data_text: str | None = Field(
        default=None,
        description="The stored JSON text, when it cannot be decoded (`artifact.data` null).",
    )
    flow_run: RunLabel | None
    task_run_name: str | None
    created_by: str | None = Field(
        default=None, description="Who created it (a user or key), when recorded."
    )
    version: int | None = Field(
        default=None, description="1 for a key's first version, 2 for the next…"
    )
    versions: int | None = Field(default=None, description="How many versions its key has.")
    latest_id: uuid.UUID | None = Field(default=None, description="The latest version of its key.")
    rows_appended: int | None = Field(
        default=None,
        description="Table rows appended in place (shown merged into `artifact.data`).",
    )


class VersionEntry(BaseModel):
    id: uuid.UUID
    number: int
    created: dt.datetime
    updated: dt.datetime
    type: str | None
    flow_run: RunLabel | None
    task_run_name: str | None


class ArtifactKeyPage(BaseModel):
    key: str
    first_created: dt.datetime
    updated: dt.datetime
    latest_id: uuid.UUID
    selected: ArtifactView
    versions: list[VersionEntry]
    versions_paging: Paging
    live_url: str | None
    trends: TrendChart | None = Field(
        default=None, description="Numbers across the newest versions, when two versions have one."
    )


class ArtifactPage(BaseModel):
    artifact: ArtifactView
    live_url: str | None


# -- runs -------------------------------------------------------------------------------


class RunsPage(BaseModel):
    state: str | None
    items: list[RunSummary]
    paging: Paging
    live_url: str | None


class GraphTick(BaseModel):
    left: float
    label: str


class GraphBar(BaseModel):
    """A task run on the run graph: position and width in percent of the time axis."""

    task_run_id: uuid.UUID
    name: str
    state_type: str | None
    state_name: str | None
    started: bool
    left: float
    width: float
    duration: str
    progress: float | None
    progress_label: str | None
    progress_artifact_id: uuid.UUID | None


class RunGraph(BaseModel):
    start: dt.datetime | None
    end: dt.datetime | None
    ticks: list[GraphTick]
    bars: list[GraphBar]


class RunPage(BaseModel):
    run: RunSummary
    finished: bool
    duration: str
    parameters: dict[str, Any]
    tags: list[str]
    graph: RunGraph
    task_runs: list[TaskRunSummary] = Field(
        description="One page of the run's task runs: failed and crashed ones first, "
        "then in the order they started."
    )
    task_runs_paging: Paging
    artifacts: list[ArtifactView]
    artifacts_paging: Paging
    logs: list[Log]
    live_url: str | None


class RunStatus(BaseModel):
    state_type: str | None
    state_name: str | None
    finished: bool
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    duration: str


class ProgressStatus(BaseModel):
    value: float | None
    label: str


class LiveUpdate(BaseModel):
    """What live.js applies to the page: run states, a run graph, progress values."""

    finished: bool = Field(description="True when nothing on the page can change any more.")
    runs: dict[str, RunStatus]
    graph: RunGraph | None
    progress: dict[str, ProgressStatus]


# -- accounts: API keys and members of the current workspace ------------------------


class KeyRow(BaseModel):
    """An API key as listed (never its secret)."""

    id: uuid.UUID
    name: str
    prefix: str
    user: str = Field(description="The user the key acts for (who made it).")
    role: str
    created: dt.datetime
    last_used: dt.datetime | None
    expires: dt.datetime | None
    status: str = Field(description="active, expired or revoked.")


class KeysPage(BaseModel):
    """The current workspace's API keys: all of them for its admins, else the caller's own."""

    workspace: str
    accounts_on: bool = Field(description="False on an open server: nobody has keys.")
    user: str | None = Field(description="The signed-in user (None: keys need a user).")
    manages: bool = Field(description="Whether every key of the workspace is listed.")
    roles: list[str] = Field(description="The roles a new key of the caller's may have.")
    keys: list[KeyRow]


class MemberRow(BaseModel):
    username: str
    role: str
    server_admin: bool = Field(description="Admin of every workspace: not changed here.")
    disabled: bool


class MembersPage(BaseModel):
    """The current workspace's members and their roles (for its admins)."""

    workspace: str
    accounts_on: bool
    members: list[MemberRow]
