"""The pages, each declared once (`site.py`): its path, template and one view that reads
the query parameters and runs the page's data function (`data.py`) in a read thread.
Each is served as HTML and as its JSON twin under /api/ui."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import Query
from starlette.responses import RedirectResponse, Response, StreamingResponse

from runfolio.errors import NotFound
from runfolio.server.ui import data, params, tables, urls
from runfolio.server.ui.models import (
    ArtifactKeyPage,
    ArtifactPage,
    ArtifactsPage,
    LiveUpdate,
    RunPage,
    RunsPage,
)
from runfolio.server.ui.site import PageApi, PageApiDep, Site
from runfolio.server.ui.templating import SECURITY_HEADERS

site = Site()

# Checked by `params.id_list` (which names the fault); the pattern is for the document.
IdsParam = Annotated[
    str | None,
    Query(
        description=f"Comma-separated run or artifact ids, at most {params.MAX_LIVE_IDS}.",
        json_schema_extra={"pattern": params.ID_LIST_PATTERN},
    ),
]


@site.page(urls.ARTIFACTS, aliases=(urls.HOME,), template="artifacts.html", nav="artifacts")
async def artifacts(
    api: PageApi,
    q: str | None = None,
    type: str | None = None,
    sort: str | None = None,
    page: str | None = None,
) -> ArtifactsPage:
    """The Artifacts page: the latest version of every key, searched, filtered, paged."""
    return await api.read(
        data.artifacts_page,
        q=q,
        type_=params.artifact_type(type),
        sort=params.artifact_sort(sort),
        page=params.page_number(page),
    )


def _missing_key(key: str, version: str | None = None, **_: object) -> str:
    if version:
        return f"Artifact “{key}” has no version {version}."
    return f"There is no artifact with the key “{key}”."


@site.page(urls.ARTIFACT_KEY, template="artifact_key.html", nav="artifacts", missing=_missing_key)
async def artifact_key(
    api: PageApi, key: str, version: str | None = None, vpage: str | None = None
) -> ArtifactKeyPage:
    """A key: the chosen version (default the latest) and its versions timeline."""
    chosen = params.version_id(version)
    if version and chosen is None:
        raise NotFound("Artifact not found.")
    return await api.read(
        data.artifact_key_page, key, version=chosen, vpage=params.page_number(vpage)
    )


def _missing_artifact(artifact_id: uuid.UUID, **_: object) -> str:
    return f"There is no artifact with the id {artifact_id}."


@site.page(urls.ARTIFACT, template="artifact.html", nav="artifacts", missing=_missing_artifact)
async def artifact(api: PageApi, artifact_id: uuid.UUID) -> ArtifactPage:
    """One artifact version by id."""
    return await api.read(data.artifact_page, artifact_id)


@site.page(urls.RUNS, template="runs.html", nav="runs")
async def runs(api: PageApi, state: str | None = None, page: str | None = None) -> RunsPage:
    """Flow runs, newest first, with task-run and artifact counts."""
    return await api.read(
        data.runs_page, state=params.run_state(state), page=params.page_number(page)
    )


def _missing_run(run_id: uuid.UUID, **_: object) -> str:
    return f"There is no flow run with the id {run_id}."


@site.page(urls.RUN, template="run.html", nav="runs", missing=_missing_run)
async def run(
    api: PageApi, run_id: uuid.UUID, apage: str | None = None, tpage: str | None = None
) -> RunPage:
    """A flow run with its graph, artifacts, task runs (failed ones first, paged) and logs."""
    return await api.read(
        data.run_page,
        run_id,
        apage=params.page_number(apage),
        tpage=params.page_number(tpage),
        now=dt.datetime.now(dt.UTC),
    )


@site.data(urls.LIVE)
async def live(
    api: PageApi, runs: IdsParam = None, graph: IdsParam = None, progress: IdsParam = None
) -> LiveUpdate:
    """Run states, one run's graph and progress values; `finished` says when to stop polling."""
    graph_ids = params.id_list(graph, "graph")[:1]
    return await api.read(
        data.live,
        runs=params.id_list(runs, "runs"),
        graph=graph_ids[0] if graph_ids else None,
        progress=params.id_list(progress, "progress"),
    )


# -- HTML only ----------------------------------------------------------------------


@site.html.get(urls.ARTIFACT_CSV)
async def artifact_csv(artifact_id: uuid.UUID, api: PageApiDep) -> Response:
    """A table artifact as CSV (every row), to download."""
    filename, table = await api.read(data.csv_table, artifact_id)
    return StreamingResponse(
        tables.csv_lines(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **SECURITY_HEADERS},
    )


@site.html.get(urls.RUN_FROM_OTHER_CLIENTS)
async def run_link_from_other_clients(run_id: uuid.UUID) -> Response:
    """Run engines that speak the same protocol log `<server>/runs/flow-run/<id>`."""
    return RedirectResponse(urls.run(run_id), status_code=308)
