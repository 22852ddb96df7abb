"""The HTML pages. Each calls its data function (`data.py`) and renders one template;
`api.py` serves the same data as JSON under /api/ui."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from runfolio.errors import NotFound
from runfolio.server.deps import DB
from runfolio.server.ui import data, params, tables, urls
from runfolio.server.ui.templating import SECURITY_HEADERS, page
from runfolio.store import artifacts as artifact_store
from runfolio.store.engine import read
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS

router = APIRouter(include_in_schema=False)

PageParam = Annotated[str | None, Query(alias="page")]


def not_found_page(message: str = "There is nothing at this address.") -> Response:
    return page("404.html", {"message": message}, status_code=404, nav="")


def _twin(request: Request) -> str:
    """The URL of this page's JSON twin."""
    query = request.url.query
    return urls.api(request.url.path + (f"?{query}" if query else ""))


@router.get("/")
@router.get("/artifacts")
def artifacts(
    request: Request,
    db: DB,
    q: str | None = None,
    type: str | None = None,
    sort: str | None = None,
    page_number: PageParam = None,
) -> Response:
    with read(db) as conn:
        model = data.artifacts_page(
            conn,
            WS,
            q=q,
            type_=params.artifact_type(type),
            sort=params.artifact_sort(sort),
            page=params.page_number(page_number),
        )
    return page("artifacts.html", {"p": model}, nav="artifacts", json_url=_twin(request))


@router.get("/artifacts/key/{key}")
def artifact_key(
    request: Request, key: str, db: DB, version: str | None = None, vpage: str | None = None
) -> Response:
    try:
        with read(db) as conn:
            model = data.artifact_key_page(
                conn,
                WS,
                key,
                version=params.version_id(version),
                vpage=params.page_number(vpage),
            )
    except NotFound:
        if version:
            return not_found_page(f"Artifact “{key}” has no version {version}.")
        return not_found_page(f"There is no artifact with the key “{key}”.")
    return page("artifact_key.html", {"p": model}, nav="artifacts", json_url=_twin(request))


@router.get("/artifacts/{artifact_id:uuid}")
def artifact(request: Request, artifact_id: uuid.UUID, db: DB) -> Response:
    try:
        with read(db) as conn:
            model = data.artifact_page(conn, WS, artifact_id)
    except NotFound:
        return not_found_page(f"There is no artifact with the id {artifact_id}.")
    return page("artifact.html", {"p": model}, nav="artifacts", json_url=_twin(request))


@router.get("/artifacts/{artifact_id:uuid}/table.csv")
def artifact_csv(artifact_id: uuid.UUID, db: DB) -> Response:
    """A table artifact as CSV (every row), to download."""
    try:
        with read(db) as conn:
            found = artifact_store.read(conn, WS, artifact_id)
    except NotFound:
        return not_found_page(f"There is no artifact with the id {artifact_id}.")
    view = tables.table_view(found.data) if found.type == "table" else None
    if view is None:
        return not_found_page("This artifact is not a table.")
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{found.key or found.id}.csv")
    return StreamingResponse(
        tables.csv_lines(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **SECURITY_HEADERS},
    )


@router.get("/runs")
def runs(
    request: Request, db: DB, state: str | None = None, page_number: PageParam = None
) -> Response:
    with read(db) as conn:
        model = data.runs_page(
            conn, WS, state=params.run_state(state), page=params.page_number(page_number)
        )
    return page("runs.html", {"p": model}, nav="runs", json_url=_twin(request))


@router.get("/runs/flow-run/{run_id:uuid}")
def run_link_from_other_clients(run_id: uuid.UUID) -> Response:
    """Run engines that speak the same protocol log `<server>/runs/flow-run/<id>`."""
    return RedirectResponse(urls.run(run_id), status_code=308)


@router.get("/runs/{run_id:uuid}")
def run(request: Request, run_id: uuid.UUID, db: DB, apage: str | None = None) -> Response:
    try:
        with read(db) as conn:
            model = data.run_page(
                conn, WS, run_id, apage=params.page_number(apage), now=dt.datetime.now(dt.UTC)
            )
    except NotFound:
        return not_found_page(f"There is no flow run with the id {run_id}.")
    return page("run.html", {"p": model}, nav="runs", json_url=_twin(request))
