"""The JSON twins of the pages under /api/ui: the same data functions, as JSON.

`/api/ui/live` is what live.js polls while a run is going (run states, a run
graph, progress values).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from runfolio.errors import NotFound
from runfolio.server.deps import DB
from runfolio.server.responses import model_response
from runfolio.server.ui import data, params, urls
from runfolio.server.ui.models import (
    ArtifactKeyPage,
    ArtifactPage,
    ArtifactsPage,
    LiveUpdate,
    RunPage,
    RunsPage,
)
from runfolio.store.engine import read
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS

router = APIRouter(prefix=urls.API_UI, tags=["ui"])

PageParam = Annotated[str | None, Query(alias="page")]


@router.get("/artifacts", response_model=ArtifactsPage)
def artifacts(
    db: DB,
    q: str | None = None,
    type: str | None = None,
    sort: str | None = None,
    page_number: PageParam = None,
) -> Response:
    """The Artifacts page: the latest version of every key, searched, filtered, paged."""
    with read(db) as conn:
        model = data.artifacts_page(
            conn,
            WS,
            q=q,
            type_=params.artifact_type(type),
            sort=params.artifact_sort(sort),
            page=params.page_number(page_number),
        )
    return model_response(model)


@router.get("/artifacts/key/{key}", response_model=ArtifactKeyPage)
def artifact_key(
    key: str, db: DB, version: str | None = None, vpage: str | None = None
) -> Response:
    """A key: the chosen version (default the latest) and its versions timeline."""
    chosen = params.version_id(version)
    if version and chosen is None:
        raise NotFound("Artifact not found.")
    with read(db) as conn:
        model = data.artifact_key_page(
            conn, WS, key, version=chosen, vpage=params.page_number(vpage)
        )
    return model_response(model)


@router.get("/artifacts/{artifact_id:uuid}", response_model=ArtifactPage)
def artifact(artifact_id: uuid.UUID, db: DB) -> Response:
    """One artifact version by id."""
    with read(db) as conn:
        return model_response(data.artifact_page(conn, WS, artifact_id))


@router.get("/runs", response_model=RunsPage)
def runs(db: DB, state: str | None = None, page_number: PageParam = None) -> Response:
    """Flow runs, newest first, with task-run and artifact counts."""
    with read(db) as conn:
        model = data.runs_page(
            conn, WS, state=params.run_state(state), page=params.page_number(page_number)
        )
    return model_response(model)


@router.get("/runs/{run_id:uuid}", response_model=RunPage)
def run(run_id: uuid.UUID, db: DB, apage: str | None = None) -> Response:
    """A flow run with its graph, artifacts, task runs and logs."""
    with read(db) as conn:
        model = data.run_page(
            conn, WS, run_id, apage=params.page_number(apage), now=dt.datetime.now(dt.UTC)
        )
    return model_response(model)


@router.get("/live", response_model=LiveUpdate)
def live(
    db: DB, runs: str | None = None, graph: str | None = None, progress: str | None = None
) -> Response:
    """Run states, one run's graph and progress values; `finished` says when to stop polling."""
    run_ids = params.id_list(runs, "runs")
    graph_ids = params.id_list(graph, "graph")[:1]
    progress_ids = params.id_list(progress, "progress")
    with read(db) as conn:
        model = data.live(
            conn,
            WS,
            runs=run_ids,
            graph=graph_ids[0] if graph_ids else None,
            progress=progress_ids,
        )
    return model_response(model)
