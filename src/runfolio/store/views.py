"""Read-only queries behind the web UI's pages (and their JSON twins).

The write paths and the protocol's filter routes live in `store.artifacts` and
`store.runs`; this module only reads, and only what the pages show: the
latest-version-per-key list, a key's versions, flow runs with their counts,
the task runs, artifacts and progress values of one run.

Lists select narrow rows: a description is cut to the characters the caller
asks for and `data` is read only for the types and sizes it names (a table of
megabytes never reaches a list). `data` comes back as its stored JSON text, for
the caller to decode: a value it cannot show then cannot fail the query. Every
query is scoped to one workspace and walks an index.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Text, and_, case, func, select, type_coerce

from runfolio.errors import NotFound
from runfolio.schemas.artifacts import Artifact
from runfolio.schemas.filters import ArtifactCollectionFilter, KeyFilter, TypeFilter
from runfolio.schemas.sorting import ArtifactSort
from runfolio.store import appends, filtering
from runfolio.store.artifacts import ARTIFACT_COLUMNS, NOT_FOUND
from runfolio.store.tables import (
    artifact_collections,
    artifacts,
    columns_in,
    flow_runs,
    flows,
    task_runs,
)
from runfolio.store.types import json_text

# An artifact version's columns with `data` as its stored JSON text, not decoded.
_VERSION_COLUMNS = [
    *(col for col in ARTIFACT_COLUMNS if col.name != "data"),
    type_coerce(artifacts.c.data, Text).label("data_text"),
]


class RunLabel(BaseModel):
    """Enough of a flow run to name and link it."""

    id: uuid.UUID
    name: str
    flow_name: str
    state_type: str | None
    state_name: str | None


class CollectionSummary(BaseModel):
    """The latest version of a key, as a list shows it."""

    key: str
    latest_id: uuid.UUID
    type: str | None
    description: str | None  # its first characters
    data_text: str | None = None  # stored JSON text, only for the types and sizes asked for
    created: dt.datetime
    updated: dt.datetime
    flow_run_id: uuid.UUID | None
    task_run_id: uuid.UUID | None


class KeyHead(BaseModel):
    """A key's latest-version row without its content."""

    key: str
    latest_id: uuid.UUID
    created: dt.datetime
    updated: dt.datetime


class VersionText(NamedTuple):
    """An artifact version whose `data` is left as its stored JSON text
    (`artifact.data` is None)."""

    artifact: Artifact
    data_text: str | None


class VersionSummary(BaseModel):
    """One entry of a key's versions timeline."""

    id: uuid.UUID
    created: dt.datetime
    updated: dt.datetime
    type: str | None
    flow_run_id: uuid.UUID | None
    task_run_id: uuid.UUID | None


class RunSummary(BaseModel):
    """A flow run with its flow's name and how many task runs and artifacts it has."""

    id: uuid.UUID
    name: str
    flow_id: uuid.UUID
    flow_name: str
    state_type: str | None
    state_name: str | None
    state_message: str | None
    created: dt.datetime
    expected_start_time: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    total_run_time: float
    task_run_count: int
    artifact_count: int
    created_by: str | None = None


class TaskRunSummary(BaseModel):
    id: uuid.UUID
    name: str
    task_key: str
    state_type: str | None
    state_name: str | None
    run_count: int
    expected_start_time: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    labels: dict[str, Any] | None = None

    @property
    def worker(self) -> str | None:
        """The worker that ran the task (set by the Dask task runner), if any."""
        value = (self.labels or {}).get(WORKER_LABEL)
        return value if isinstance(value, str) else None


# The task run label naming the worker that ran it (see runfolio._dask).
WORKER_LABEL = "dask.worker"


class ProgressValue(BaseModel):
    """The current value of a progress artifact (as stored JSON text)."""

    artifact_id: uuid.UUID
    flow_run_id: uuid.UUID | None
    task_run_id: uuid.UUID | None
    value_text: str | None
    created: dt.datetime
    updated: dt.datetime


# -- lists of keys ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeySearch:
    """Which keys a list holds (every criterion given must hold)."""

    search: str | None = None  # a substring of the key, any case
    types: Sequence[str] | None = None  # stored types
    # A regular expression the stored JSON text of `data` matches (REGEXP on SQLite,
    # where SQLAlchemy provides it through Python's `re`; `~` on PostgreSQL).
    data_pattern: str | None = None
    # A LIKE pattern that text must also match: a cheap test, run before the expression.
    data_like: str | None = None


def _collection_where(found: KeySearch) -> list[ColumnElement[bool]]:
    c = artifact_collections.c
    crit = ArtifactCollectionFilter(
        key=KeyFilter(like_=found.search) if found.search else None,
        type=TypeFilter(any_=list(found.types)) if found.types else None,
    )
    where: list[ColumnElement[bool]] = []
    clause = filtering.artifact_clauses(artifact_collections, crit)
    if clause is not None:
        where.append(clause)
    text = json_text(c.data)
    if found.data_like is not None:
        where.append(text.like(found.data_like))
    if found.data_pattern is not None:
        where.append(text.regexp_match(found.data_pattern))
    return where


def search_collections(
    conn: Connection,
    workspace_id: uuid.UUID,
    found: KeySearch = KeySearch(),
    *,
    sort: ArtifactSort = ArtifactSort.UPDATED_DESC,
    limit: int = 50,
    offset: int = 0,
    description_chars: int = 400,
    data_types: Sequence[str] = (),
    data_chars: int = 0,
) -> list[CollectionSummary]:
    """Latest versions of the keys `found` names, one page; `data` only of `data_types`
    and when its stored text has at most `data_chars` characters.

    The page's ids are chosen first from the index alone, then only those rows are
    read (a deep OFFSET then skips index entries, not whole rows).
    """
    c = artifact_collections.c
    order = filtering.artifact_order(artifact_collections, sort)
    page = (
        select(c.id)
        .where(c.workspace_id == workspace_id, *_collection_where(found))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    # The type is tested first: measuring a value reads all of it.
    wanted = and_(c.type.in_(data_types), func.length(json_text(c.data)) <= data_chars)
    stmt = (
        select(
            c.key,
            c.latest_id,
            c.type,
            func.substr(c.description, 1, description_chars).label("description"),
            case((wanted, type_coerce(c.data, Text)), else_=None).label("data_text"),
            c.created,
            c.updated,
            c.flow_run_id,
            c.task_run_id,
        )
        .join(page, page.c.id == c.id)
        .order_by(*order)
    )
    return [CollectionSummary.model_construct(**row._mapping) for row in conn.execute(stmt)]


def count_collections(
    conn: Connection, workspace_id: uuid.UUID, found: KeySearch = KeySearch()
) -> int:
    """How many keys `found` names (the same criteria as `search_collections`)."""
    c = artifact_collections.c
    stmt = select(func.count()).where(c.workspace_id == workspace_id, *_collection_where(found))
    return int(conn.execute(stmt).scalar_one())


# -- names for ids ----------------------------------------------------------------------


def run_labels(
    conn: Connection, workspace_id: uuid.UUID, run_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, RunLabel]:
    """Name, flow name and state of each flow run id that exists (others are left out)."""
    ids = {i for i in run_ids if i is not None}
    if not ids:
        return {}
    stmt = (
        select(
            flow_runs.c.id,
            flow_runs.c.name,
            flows.c.name.label("flow_name"),
            flow_runs.c.state_type,
            flow_runs.c.state_name,
        )
        .join(flows, flows.c.id == flow_runs.c.flow_id)
        .where(flow_runs.c.workspace_id == workspace_id, flow_runs.c.id.in_(ids))
    )
    return {row.id: RunLabel.model_construct(**row._mapping) for row in conn.execute(stmt)}


def artifact_creators(
    conn: Connection, workspace_id: uuid.UUID, artifact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Who created each of these artifacts, where recorded (the API's `Artifact` has no
    such field: it follows the protocol)."""
    ids = set(artifact_ids)
    if not ids:
        return {}
    a = artifacts.c
    stmt = select(a.id, a.created_by).where(
        a.workspace_id == workspace_id, a.id.in_(ids), a.created_by.is_not(None)
    )
    return {row.id: row.created_by for row in conn.execute(stmt)}


def task_run_names(
    conn: Connection, workspace_id: uuid.UUID, task_run_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    ids = {i for i in task_run_ids if i is not None}
    if not ids:
        return {}
    stmt = select(task_runs.c.id, task_runs.c.name).where(
        task_runs.c.workspace_id == workspace_id, task_runs.c.id.in_(ids)
    )
    return {row.id: row.name for row in conn.execute(stmt)}


# -- a key's versions -------------------------------------------------------------------


def key_head(conn: Connection, workspace_id: uuid.UUID, key: str) -> KeyHead:
    c = artifact_collections.c
    stmt = select(*columns_in(artifact_collections, KeyHead.model_fields)).where(
        c.workspace_id == workspace_id, c.key == key
    )
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return KeyHead.model_construct(**row._mapping)


def _version_text(row: Any) -> VersionText:
    fields = dict(row._mapping)
    text = fields.pop("data_text")
    return VersionText(Artifact.model_construct(**fields), text)


def _with_appended(
    conn: Connection, workspace_id: uuid.UUID, versions: list[VersionText]
) -> list[VersionText]:
    """The versions with the table rows appended to them in place merged into their text
    (one query for them all)."""
    found = appends.appended(conn, workspace_id, (v.artifact.id for v in versions))
    if not found:
        return versions
    return [
        VersionText(v.artifact, appends.merged_text(v.data_text, found[v.artifact.id].rows))
        if v.artifact.id in found
        else v
        for v in versions
    ]


def read_version(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> VersionText:
    """One artifact version by id, its data as stored text (appended rows included)."""
    a = artifacts.c
    stmt = select(*_VERSION_COLUMNS).where(a.id == artifact_id, a.workspace_id == workspace_id)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _with_appended(conn, workspace_id, [_version_text(row)])[0]


def key_versions(
    conn: Connection, workspace_id: uuid.UUID, key: str, *, limit: int = 50, offset: int = 0
) -> list[VersionSummary]:
    """Versions of `key`, newest first (walks the (workspace, key, created) index)."""
    a = artifacts.c
    stmt = (
        select(*columns_in(artifacts, VersionSummary.model_fields))
        .where(a.workspace_id == workspace_id, a.key == key)
        .order_by(a.created.desc(), a.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [VersionSummary.model_construct(**row._mapping) for row in conn.execute(stmt)]


def count_key_versions(conn: Connection, workspace_id: uuid.UUID, key: str) -> int:
    a = artifacts.c
    stmt = select(func.count()).where(a.workspace_id == workspace_id, a.key == key)
    return int(conn.execute(stmt).scalar_one())


def version_number(conn: Connection, workspace_id: uuid.UUID, artifact: Artifact) -> int:
    """1 for a key's first version, 2 for the next, … (by creation order)."""
    a = artifacts.c
    stmt = select(func.count()).where(
        a.workspace_id == workspace_id,
        a.key == artifact.key,
        (a.created < artifact.created) | ((a.created == artifact.created) & (a.id <= artifact.id)),
    )
    return int(conn.execute(stmt).scalar_one())


# -- flow runs --------------------------------------------------------------------------


def _run_summary_select() -> Any:
    fr = flow_runs.c
    task_count = (
        select(func.count())
        .where(task_runs.c.workspace_id == fr.workspace_id, task_runs.c.flow_run_id == fr.id)
        .scalar_subquery()
    )
    artifact_count = (
        select(func.count())
        .where(artifacts.c.flow_run_id == fr.id, artifacts.c.workspace_id == fr.workspace_id)
        .scalar_subquery()
    )
    return select(
        *columns_in(flow_runs, RunSummary.model_fields),
        flows.c.name.label("flow_name"),
        task_count.label("task_run_count"),
        artifact_count.label("artifact_count"),
    ).join(flows, flows.c.id == fr.flow_id)


def list_runs(
    conn: Connection,
    workspace_id: uuid.UUID,
    *,
    state_types: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RunSummary]:
    """Flow runs, newest first (ids are time-ordered), with task-run and artifact counts."""
    stmt = _run_summary_select().where(flow_runs.c.workspace_id == workspace_id)
    if state_types:
        stmt = stmt.where(flow_runs.c.state_type.in_(state_types))
    stmt = stmt.order_by(flow_runs.c.id.desc()).limit(limit).offset(offset)
    return [RunSummary.model_construct(**row._mapping) for row in conn.execute(stmt)]


def count_runs(
    conn: Connection, workspace_id: uuid.UUID, *, state_types: list[str] | None = None
) -> int:
    stmt = select(func.count()).where(flow_runs.c.workspace_id == workspace_id)
    if state_types:
        stmt = stmt.where(flow_runs.c.state_type.in_(state_types))
    return int(conn.execute(stmt).scalar_one())


def runs_by_id(
    conn: Connection, workspace_id: uuid.UUID, run_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, RunSummary]:
    ids = set(run_ids)
    if not ids:
        return {}
    stmt = _run_summary_select().where(
        flow_runs.c.workspace_id == workspace_id, flow_runs.c.id.in_(ids)
    )
    return {row.id: RunSummary.model_construct(**row._mapping) for row in conn.execute(stmt)}


def run_summary(conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID) -> RunSummary:
    found = runs_by_id(conn, workspace_id, [run_id]).get(run_id)
    if found is None:
        raise NotFound("Flow run not found.")
    return found


# Task runs whose state a reader of a run looks for first (the table lists them first).
FAILED_STATE_TYPES = ("FAILED", "CRASHED")


def run_task_runs(
    conn: Connection,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    limit: int = 500,
    offset: int = 0,
    failed_first: bool = False,
) -> list[TaskRunSummary]:
    """The task runs of a flow run in the order they started (not started ones last);
    with `failed_first`, failed and crashed ones before the others (in that order too)."""
    t = task_runs.c
    order = [t.start_time.is_(None), t.start_time, t.expected_start_time, t.id]
    if failed_first:
        order.insert(0, case((t.state_type.in_(FAILED_STATE_TYPES), 0), else_=1))
    stmt = (
        select(*columns_in(task_runs, TaskRunSummary.model_fields))
        .where(t.workspace_id == workspace_id, t.flow_run_id == run_id)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return [TaskRunSummary.model_construct(**row._mapping) for row in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class GraphTask:
    """What the run graph shows of a task run (no labels, counts or expected times)."""

    id: uuid.UUID
    name: str
    state_type: str | None
    state_name: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None


def run_graph_tasks(
    conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID, *, limit: int = 500
) -> list[GraphTask]:
    """The run graph's task runs, in the order `run_task_runs` gives them."""
    t = task_runs.c
    stmt = (
        select(t.id, t.name, t.state_type, t.state_name, t.start_time, t.end_time)
        .where(t.workspace_id == workspace_id, t.flow_run_id == run_id)
        .order_by(t.start_time.is_(None), t.start_time, t.expected_start_time, t.id)
        .limit(limit)
    )
    # Built positionally: a graph of hundreds of bars is read on every live poll.
    return [GraphTask(*row) for row in conn.execute(stmt)]


# -- artifacts of a run, progress values ------------------------------------------------


def run_artifacts(
    conn: Connection,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[VersionText]:
    """Every artifact (keyed and keyless, every version) of a flow run, oldest first.

    The run's rows are found first by the flow run index (a materialised CTE), then
    sorted: left to itself PostgreSQL walks the workspace's (created, id) index in
    order, filtering, and a recent run's artifacts come after every older one (200 ms
    at 100,000 artifacts instead of 4). Only the page's rows are then read whole.
    """
    a = artifacts.c
    in_run = (
        select(a.id, a.created)
        .where(a.flow_run_id == run_id, a.workspace_id == workspace_id)
        .cte("in_run")
        .prefix_with("MATERIALIZED")
    )
    page = (
        select(in_run.c.id)
        .order_by(in_run.c.created, in_run.c.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    stmt = (
        select(*_VERSION_COLUMNS)
        .join(page, page.c.id == a.id)
        .where(a.workspace_id == workspace_id)
        .order_by(a.created, a.id)
    )
    return _with_appended(conn, workspace_id, [_version_text(row) for row in conn.execute(stmt)])


def count_run_artifacts(conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID) -> int:
    a = artifacts.c
    stmt = select(func.count()).where(a.flow_run_id == run_id, a.workspace_id == workspace_id)
    return int(conn.execute(stmt).scalar_one())


def _progress_select() -> Any:
    a = artifacts.c
    value_text = type_coerce(a.data, Text).label("value_text")
    return select(a.id.label("artifact_id"), a.flow_run_id, a.task_run_id, value_text)


def run_progress(
    conn: Connection, workspace_id: uuid.UUID, run_id: uuid.UUID
) -> dict[uuid.UUID, ProgressValue]:
    """The newest progress artifact of each task run of a flow run, by task run id."""
    a = artifacts.c
    stmt = (
        _progress_select()
        .add_columns(a.created, a.updated)
        .where(
            a.flow_run_id == run_id,
            a.workspace_id == workspace_id,
            a.type == "progress",
            a.task_run_id.is_not(None),
        )
        .order_by(a.created, a.id)
    )
    latest: dict[uuid.UUID, ProgressValue] = {}
    for row in conn.execute(stmt):
        latest[row.task_run_id] = ProgressValue.model_construct(**row._mapping)
    return latest


def progress_values(
    conn: Connection, workspace_id: uuid.UUID, artifact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ProgressValue]:
    """Current values of the given artifacts (ids that do not exist are left out)."""
    ids = set(artifact_ids)
    if not ids:
        return {}
    a = artifacts.c
    stmt = (
        _progress_select()
        .add_columns(a.created, a.updated)
        .where(a.workspace_id == workspace_id, a.id.in_(ids))
    )
    return {
        row.artifact_id: ProgressValue.model_construct(**row._mapping) for row in conn.execute(stmt)
    }


def latest_ids(
    conn: Connection, workspace_id: uuid.UUID, keys: Iterable[str]
) -> dict[str, uuid.UUID]:
    """The latest version id of each key."""
    wanted = set(keys)
    if not wanted:
        return {}
    c = artifact_collections.c
    stmt = select(c.key, c.latest_id).where(c.workspace_id == workspace_id, c.key.in_(wanted))
    return {row.key: row.latest_id for row in conn.execute(stmt)}
