"""One data function per page: what `pages.py` serves as HTML and as its JSON twin.

Each takes the operations context (`runfolio.ops.Context`) first, reads in one
transaction through the store (`store.views`, `store.runs`, `store.logs`) and
returns the page's model. The server runs them in a worker thread
(`await api.read(data.run_page, run_id, ...)`). Unknown ids and keys raise
`NotFound`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable

from sqlalchemy import Connection

from runfolio.errors import NotFound
from runfolio.ops import Context
from runfolio.schemas.sorting import ArtifactSort
from runfolio.server.ui import fmt, history, stored, tables, urls
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
from runfolio.server.ui.render import (
    LINK_JSON_LIKE,
    LINK_JSON_PATTERN,
    LINK_TYPE,
    percent,
    progress_value,
)
from runfolio.store import appends, views
from runfolio.store import logs as log_store
from runfolio.store import runs as run_store
from runfolio.store.views import CollectionSummary, RunLabel, VersionText

PER_PAGE = 50
VERSIONS_PER_PAGE = 50
RUN_ARTIFACTS_PER_PAGE = 50
# A run's task table; its graph shows up to GRAPH_TASKS bars.
RUN_TASKS_PER_PAGE = 100
GRAPH_TASKS = 500
LOG_LINES = 500
# The Artifacts list reads a key's data only for the types it shows in a row, and only
# when small: a table of megabytes never reaches it.
EXCERPT_CHARS = 400
LISTED_DATA_TYPES = ("markdown", "progress", "image")
LISTED_DATA_CHARS = 4096


def _paging(page: int, per_page: int, total: int) -> Paging:
    pages = max(1, -(-total // per_page))
    return Paging(page=min(max(page, 1), pages), per_page=per_page, total=total)


# -- artifacts --------------------------------------------------------------------------


def _key_search(q: str | None, type_: str | None) -> views.KeySearch:
    if type_ == LINK_TYPE:  # markdown whose data is one link, tested in SQL as on the page
        return views.KeySearch(
            search=q, types=["markdown"], data_pattern=LINK_JSON_PATTERN, data_like=LINK_JSON_LIKE
        )
    return views.KeySearch(search=q, types=[type_] if type_ else None)


def _row(r: CollectionSummary, labels: dict[uuid.UUID, RunLabel]) -> ArtifactRow:
    shown = stored.decode(r.type, r.data_text)
    return ArtifactRow(
        key=r.key,
        latest_id=r.latest_id,
        type=r.type,
        kind=shown.kind,
        description=r.description,
        data=shown.value,
        notice=shown.notice,
        data_text=shown.text,
        created=r.created,
        updated=r.updated,
        flow_run=labels.get(r.flow_run_id) if r.flow_run_id else None,
        task_run_id=r.task_run_id,
    )


def artifacts_page(
    ctx: Context,
    *,
    q: str | None = None,
    type_: str | None = None,
    sort: ArtifactSort = ArtifactSort.UPDATED_DESC,
    page: int = 1,
) -> ArtifactsPage:
    """The latest version of every key matching the search, one page."""
    q = (q or "").strip() or None
    found = _key_search(q, type_)
    with ctx.reading() as (conn, ws):
        paging = _paging(page, PER_PAGE, views.count_collections(conn, ws, found))
        rows = views.search_collections(
            conn,
            ws,
            found,
            sort=sort,
            limit=PER_PAGE,
            offset=paging.offset,
            description_chars=EXCERPT_CHARS,
            data_types=LISTED_DATA_TYPES,
            data_chars=LISTED_DATA_CHARS,
        )
        labels = views.run_labels(conn, ws, (r.flow_run_id for r in rows))
    items = [_row(r, labels) for r in rows]
    return ArtifactsPage(q=q, type=type_, sort=sort, items=items, paging=paging)


def _views(conn: Connection, ws: uuid.UUID, found: list[VersionText]) -> list[ArtifactView]:
    labels = views.run_labels(conn, ws, (v.artifact.flow_run_id for v in found))
    names = views.task_run_names(conn, ws, (v.artifact.task_run_id for v in found))
    creators = views.artifact_creators(conn, ws, (v.artifact.id for v in found))
    # The stored text holds the appended rows already (views merges them); this says how many.
    added = appends.counts(conn, ws, (v.artifact.id for v in found if v.artifact.type == "table"))
    shown = []
    for artifact, text in found:
        data = stored.decode(artifact.type, text)
        shown.append(
            ArtifactView(
                artifact=artifact.model_copy(update={"data": data.value}),
                kind=data.kind,
                notice=data.notice,
                data_text=data.text,
                flow_run=labels.get(artifact.flow_run_id) if artifact.flow_run_id else None,
                task_run_name=names.get(artifact.task_run_id) if artifact.task_run_id else None,
                created_by=creators.get(artifact.id),
                rows_appended=added.get(artifact.id),
            )
        )
    return shown


def _view(conn: Connection, ws: uuid.UUID, version: VersionText) -> ArtifactView:
    view = _views(conn, ws, [version])[0]
    artifact = version.artifact
    if artifact.key is not None:
        view.version = views.version_number(conn, ws, artifact)
        view.versions = views.count_key_versions(conn, ws, artifact.key)
        view.latest_id = views.latest_ids(conn, ws, [artifact.key]).get(artifact.key)
    return view


def _progress_live_url(
    conn: Connection, ws: uuid.UUID, found: Iterable[ArtifactView]
) -> str | None:
    ids = [v.artifact.id for v in found if v.kind == "progress"]
    if not ids or _live(conn, ws, progress=ids).finished:
        return None
    return urls.live(progress=ids)


def artifact_key_page(
    ctx: Context, key: str, *, version: uuid.UUID | None = None, vpage: int = 1
) -> ArtifactKeyPage:
    """A key: the chosen version (default the latest) in full, and the versions timeline."""
    with ctx.reading() as (conn, ws):
        head = views.key_head(conn, ws, key)
        chosen = views.read_version(conn, ws, version or head.latest_id)
        if chosen.artifact.key != key:
            raise NotFound("Artifact not found.")
        selected = _view(conn, ws, chosen)
        paging = _paging(vpage, VERSIONS_PER_PAGE, selected.versions or 0)
        found = views.key_versions(conn, ws, key, limit=VERSIONS_PER_PAGE, offset=paging.offset)
        labels = views.run_labels(conn, ws, (v.flow_run_id for v in found))
        names = views.task_run_names(conn, ws, (v.task_run_id for v in found))
        live_url = _progress_live_url(conn, ws, [selected])
        trends = history.key_trends(conn, ws, key, paging.total)
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
        first_created=head.created,
        updated=head.updated,
        latest_id=head.latest_id,
        selected=selected,
        versions=entries,
        versions_paging=paging,
        live_url=live_url,
        trends=trends,
    )


def artifact_page(ctx: Context, artifact_id: uuid.UUID) -> ArtifactPage:
    """One artifact version by id (keyless ones too)."""
    with ctx.reading() as (conn, ws):
        view = _view(conn, ws, views.read_version(conn, ws, artifact_id))
        return ArtifactPage(artifact=view, live_url=_progress_live_url(conn, ws, [view]))


def csv_table(ctx: Context, artifact_id: uuid.UUID) -> tuple[str, tables.TableView]:
    """A table artifact's download name and its table (`NotFound` when it is not a table)."""
    with ctx.reading() as (conn, ws):
        try:
            artifact, text = views.read_version(conn, ws, artifact_id)
        except NotFound:
            raise NotFound(f"There is no artifact with the id {artifact_id}.") from None
    shown = stored.decode(artifact.type, text)
    table = tables.table_view(shown.value) if shown.kind == "table" else None
    if table is None:
        raise NotFound("This artifact is not a table.")
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{artifact.key or artifact.id}.csv")
    return filename, table


# -- runs -------------------------------------------------------------------------------


def runs_page(ctx: Context, *, state: str | None = None, page: int = 1) -> RunsPage:
    """Flow runs, newest first, with their task-run and artifact counts."""
    states = [state] if state else None
    with ctx.reading() as (conn, ws):
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
    ctx: Context, run_id: uuid.UUID, *, apage: int = 1, tpage: int = 1, now: dt.datetime
) -> RunPage:
    """A flow run: state, times, parameters, run graph, artifacts, one page of its task
    runs (failed and crashed first: what a reader looks for) and logs."""
    with ctx.reading() as (conn, ws):
        run = views.run_summary(conn, ws, run_id)
        full = run_store.read_flow_run(conn, ws, run_id)
        graph_tasks = views.run_graph_tasks(conn, ws, run_id, limit=GRAPH_TASKS)
        task_paging = _paging(tpage, RUN_TASKS_PER_PAGE, run.task_run_count)
        tasks = views.run_task_runs(
            conn,
            ws,
            run_id,
            limit=RUN_TASKS_PER_PAGE,
            offset=task_paging.offset,
            failed_first=True,
        )
        progress = views.run_progress(conn, ws, run_id)
        paging = _paging(apage, RUN_ARTIFACTS_PER_PAGE, run.artifact_count)
        found = views.run_artifacts(
            conn, ws, run_id, limit=RUN_ARTIFACTS_PER_PAGE, offset=paging.offset
        )
        shown = _views(conn, ws, found)
        logs = log_store.list_logs(conn, ws, run_id, limit=LOG_LINES)
    finished = fmt.is_finished(run.state_type)
    return RunPage(
        run=run,
        finished=finished,
        duration=fmt.duration(fmt.run_seconds(run.start_time, run.end_time, now)),
        parameters=full.parameters,
        tags=full.tags,
        graph=build_graph(run, graph_tasks, progress, now),
        task_runs=tasks,
        task_runs_paging=task_paging,
        artifacts=shown,
        artifacts_paging=paging,
        logs=logs,
        live_url=None
        if finished
        else urls.live([run_id], run_id, [v.artifact.id for v in shown if v.kind == "progress"]),
    )


def live(
    ctx: Context,
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
    with ctx.reading() as (conn, ws):
        return _live(conn, ws, runs=runs, graph=graph, progress=progress, now=now)


def _live(
    conn: Connection,
    ws: uuid.UUID,
    *,
    runs: Iterable[uuid.UUID] = (),
    graph: uuid.UUID | None = None,
    progress: Iterable[uuid.UUID] = (),
    now: dt.datetime | None = None,
) -> LiveUpdate:
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
        value = progress_value(stored.value_of(v.value_text))
        progress_out[str(artifact_id)] = ProgressStatus(value=value, label=percent(value))
        if v.flow_run_id not in found and (value or 0) < 100:
            finished = False
    run_graph = None
    if graph is not None and graph in found:
        tasks = views.run_graph_tasks(conn, ws, graph, limit=GRAPH_TASKS)
        run_graph = build_graph(found[graph], tasks, views.run_progress(conn, ws, graph), now)
    return LiveUpdate(finished=finished, runs=statuses, graph=run_graph, progress=progress_out)
