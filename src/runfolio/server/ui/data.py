"""One data function per page: what `pages.py` renders and `api.py` returns as JSON.

Each takes an open connection and the workspace id, reads through the store
(`store.artifacts`, `store.runs`, `store.logs`, `store.views`) and returns the
page's model. Unknown ids and keys raise `NotFound`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import Connection

from runfolio.errors import NotFound
from runfolio.schemas.artifacts import Artifact
from runfolio.schemas.sorting import ArtifactSort
from runfolio.server.ui import fmt, urls
from runfolio.server.ui.graph import build_graph
from runfolio.server.ui.models import (
    ArtifactKeyPage,
    ArtifactPage,
    ArtifactRow,
    ArtifactsPage,
    ArtifactView,
    LiveUpdate,
    Paging,
    ProgressStatus,
    RunPage,
    RunsPage,
    RunStatus,
    VersionEntry,
)
from runfolio.server.ui.render import kind_of, percent, progress_value
from runfolio.store import artifacts as artifact_store
from runfolio.store import logs as log_store
from runfolio.store import runs as run_store
from runfolio.store import views

PER_PAGE = 50
VERSIONS_PER_PAGE = 50
RUN_ARTIFACTS_PER_PAGE = 50
LOG_LINES = 500


def _paging(page: int, per_page: int, total: int) -> Paging:
    pages = max(1, -(-total // per_page))
    return Paging(page=min(max(page, 1), pages), per_page=per_page, total=total)


def artifacts_page(
    conn: Connection,
    ws: uuid.UUID,
    *,
    q: str | None = None,
    type_: str | None = None,
    sort: ArtifactSort = ArtifactSort.UPDATED_DESC,
    page: int = 1,
) -> ArtifactsPage:
    """The latest version of every key matching the search, one page."""
    q = (q or "").strip() or None
    total = views.count_collections(conn, ws, search=q, type_=type_)
    paging = _paging(page, PER_PAGE, total)
    rows = views.search_collections(
        conn, ws, search=q, type_=type_, sort=sort, limit=PER_PAGE, offset=paging.offset
    )
    labels = views.run_labels(conn, ws, (r.flow_run_id for r in rows))
    items = [
        ArtifactRow(
            key=r.key,
            latest_id=r.latest_id,
            type=r.type,
            kind=kind_of(r.type, r.data),
            description=r.description,
            data=r.data,
            created=r.created,
            updated=r.updated,
            flow_run=labels.get(r.flow_run_id) if r.flow_run_id else None,
            task_run_id=r.task_run_id,
        )
        for r in rows
    ]
    if type_ == views.LINK_TYPE:  # the SQL pattern is loose; the renderer decides
        items = [i for i in items if i.kind == "link"]
    return ArtifactsPage(q=q, type=type_, sort=sort, items=items, paging=paging)


def _views(conn: Connection, ws: uuid.UUID, found: list[Artifact]) -> list[ArtifactView]:
    labels = views.run_labels(conn, ws, (a.flow_run_id for a in found))
    names = views.task_run_names(conn, ws, (a.task_run_id for a in found))
    return [
        ArtifactView(
            artifact=a,
            kind=kind_of(a.type, a.data),
            flow_run=labels.get(a.flow_run_id) if a.flow_run_id else None,
            task_run_name=names.get(a.task_run_id) if a.task_run_id else None,
        )
        for a in found
    ]


def _view(conn: Connection, ws: uuid.UUID, artifact: Artifact) -> ArtifactView:
    view = _views(conn, ws, [artifact])[0]
    if artifact.key is not None:
        view.version = views.version_number(conn, ws, artifact)
        view.versions = views.count_key_versions(conn, ws, artifact.key)
        latest = views.latest_ids(conn, ws, [artifact.key])
        view.latest_id = latest.get(artifact.key)
    return view


def _progress_live_url(
    conn: Connection, ws: uuid.UUID, found: Iterable[ArtifactView]
) -> str | None:
    ids = [v.artifact.id for v in found if v.kind == "progress"]
    if not ids or live(conn, ws, progress=ids).finished:
        return None
    return urls.live(progress=ids)


def artifact_key_page(
    conn: Connection,
    ws: uuid.UUID,
    key: str,
    *,
    version: uuid.UUID | None = None,
    vpage: int = 1,
) -> ArtifactKeyPage:
    """A key: the chosen version (default the latest) in full, and the versions timeline."""
    collection = artifact_store.read_collection(conn, ws, key)
    chosen = artifact_store.read(conn, ws, version or collection.latest_id)
    if chosen.key != key:
        raise NotFound("Artifact not found.")
    selected = _view(conn, ws, chosen)
    paging = _paging(vpage, VERSIONS_PER_PAGE, selected.versions or 0)
    found = views.key_versions(conn, ws, key, limit=VERSIONS_PER_PAGE, offset=paging.offset)
    labels = views.run_labels(conn, ws, (v.flow_run_id for v in found))
    names = views.task_run_names(conn, ws, (v.task_run_id for v in found))
    entries = [
        VersionEntry(
            id=v.id,
            number=paging.total - paging.offset - i,
            created=v.created,
            updated=v.updated,
            type=v.type,
            flow_run=labels.get(v.flow_run_id) if v.flow_run_id else None,
            task_run_name=names.get(v.task_run_id) if v.task_run_id else None,
        )
        for i, v in enumerate(found)
    ]
    return ArtifactKeyPage(
        key=key,
        first_created=collection.created,
        updated=collection.updated,
        latest_id=collection.latest_id,
        selected=selected,
        versions=entries,
        versions_paging=paging,
        live_url=_progress_live_url(conn, ws, [selected]),
    )


def artifact_page(conn: Connection, ws: uuid.UUID, artifact_id: uuid.UUID) -> ArtifactPage:
    """One artifact version by id (keyless ones too)."""
    view = _view(conn, ws, artifact_store.read(conn, ws, artifact_id))
    return ArtifactPage(artifact=view, live_url=_progress_live_url(conn, ws, [view]))


def runs_page(
    conn: Connection, ws: uuid.UUID, *, state: str | None = None, page: int = 1
) -> RunsPage:
    """Flow runs, newest first, with their task-run and artifact counts."""
    states = [state] if state else None
    paging = _paging(page, PER_PAGE, views.count_runs(conn, ws, state_types=states))
    items = views.list_runs(conn, ws, state_types=states, limit=PER_PAGE, offset=paging.offset)
    running = [r.id for r in items if not fmt.is_finished(r.state_type)]
    return RunsPage(
        state=state,
        items=items,
        paging=paging,
        live_url=urls.live(runs=running) if running else None,
    )


def run_page(
    conn: Connection, ws: uuid.UUID, run_id: uuid.UUID, *, apage: int = 1, now: dt.datetime
) -> RunPage:
    """A flow run: state, times, parameters, run graph, artifacts, task runs and logs."""
    run = views.run_summary(conn, ws, run_id)
    full = run_store.read_flow_run(conn, ws, run_id)
    tasks = views.run_task_runs(conn, ws, run_id)
    graph = build_graph(run, tasks, views.run_progress(conn, ws, run_id), now)
    paging = _paging(apage, RUN_ARTIFACTS_PER_PAGE, run.artifact_count)
    found = views.run_artifacts(
        conn, ws, run_id, limit=RUN_ARTIFACTS_PER_PAGE, offset=paging.offset
    )
    shown = _views(conn, ws, found)
    finished = fmt.is_finished(run.state_type)
    progress_ids = [v.artifact.id for v in shown if v.kind == "progress"]
    return RunPage(
        run=run,
        finished=finished,
        duration=fmt.duration(fmt.run_seconds(run.start_time, run.end_time, now)),
        parameters=full.parameters,
        tags=full.tags,
        graph=graph,
        task_runs=tasks,
        artifacts=shown,
        artifacts_paging=paging,
        logs=log_store.list_logs(conn, ws, run_id, limit=LOG_LINES),
        live_url=None if finished else urls.live([run_id], run_id, progress_ids),
    )


def live(
    conn: Connection,
    ws: uuid.UUID,
    *,
    runs: Iterable[uuid.UUID] = (),
    graph: uuid.UUID | None = None,
    progress: Iterable[uuid.UUID] = (),
    now: dt.datetime | None = None,
) -> LiveUpdate:
    """Current run states, one run's graph and progress values, for polling pages.

    `finished` is true when none of it can change any more: every run is in a
    final state, and so is the run of every progress artifact (a progress
    artifact outside any run is finished at 100%).
    """
    now = now or dt.datetime.now(dt.UTC)
    values = views.progress_values(conn, ws, progress)
    run_ids = set(runs) | {v.flow_run_id for v in values.values() if v.flow_run_id}
    if graph is not None:
        run_ids.add(graph)
    found = views.runs_by_id(conn, ws, run_ids)
    statuses = {
        str(r.id): RunStatus(
            state_type=r.state_type,
            state_name=r.state_name,
            finished=fmt.is_finished(r.state_type),
            start_time=r.start_time,
            end_time=r.end_time,
            duration=fmt.duration(fmt.run_seconds(r.start_time, r.end_time, now)),
        )
        for r in found.values()
    }
    progress_out: dict[str, ProgressStatus] = {}
    finished = all(s.finished for s in statuses.values())
    for artifact_id, v in values.items():
        value = progress_value(v.value)
        progress_out[str(artifact_id)] = ProgressStatus(value=value, label=percent(value))
        if v.flow_run_id not in found and (value or 0) < 100:
            finished = False
    run_graph = None
    if graph is not None and graph in found:
        tasks = views.run_task_runs(conn, ws, graph)
        run_graph = build_graph(found[graph], tasks, views.run_progress(conn, ws, graph), now)
    return LiveUpdate(finished=finished, runs=statuses, graph=run_graph, progress=progress_out)
