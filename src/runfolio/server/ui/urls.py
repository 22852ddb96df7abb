"""Every URL the UI links to, built in one place (pages and their JSON twins).

Templates reach these as `url.<name>(...)`; routes are declared with the same
paths in `pages.py` and `api.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

API_UI = "/api/ui"
STATIC = "/static"


def _query(**params: object) -> str:
    pairs = {
        k: v
        for k, v in params.items()
        if v is not None and v != "" and not (k.endswith("page") and v == 1)
    }
    return f"?{urlencode(pairs)}" if pairs else ""


def home() -> str:
    return "/"


def artifacts(
    q: str | None = None, type: str | None = None, sort: str | None = None, page: int = 1
) -> str:
    return "/artifacts" + _query(q=q, type=type, sort=sort, page=page)


def artifact_key(key: str, version: uuid.UUID | None = None, vpage: int = 1) -> str:
    return f"/artifacts/key/{quote(key, safe='')}" + _query(version=version, vpage=vpage)


def artifact(artifact_id: uuid.UUID) -> str:
    return f"/artifacts/{artifact_id}"


def artifact_csv(artifact_id: uuid.UUID) -> str:
    return f"/artifacts/{artifact_id}/table.csv"


def runs(state: str | None = None, page: int = 1) -> str:
    return "/runs" + _query(state=state, page=page)


def run(run_id: uuid.UUID, apage: int = 1) -> str:
    return f"/runs/{run_id}" + _query(apage=apage)


def task_run_anchor(run_id: uuid.UUID, task_run_id: uuid.UUID) -> str:
    return f"/runs/{run_id}#task-{task_run_id}"


def static(path: str) -> str:
    return f"{STATIC}/{path}"


# -- JSON twins ---------------------------------------------------------------------


def api(page_url: str) -> str:
    """The JSON twin of a page URL: the same path and query under /api/ui."""
    return API_UI + (page_url if page_url != "/" else "/artifacts")


def live(
    runs: Iterable[uuid.UUID] = (),
    graph: uuid.UUID | None = None,
    progress: Iterable[uuid.UUID] = (),
) -> str:
    """The endpoint live.js polls for run states, a run graph and progress values."""
    params = {
        "runs": ",".join(str(r) for r in runs),
        "graph": str(graph) if graph else "",
        "progress": ",".join(str(p) for p in progress),
    }
    return f"{API_UI}/live" + _query(**params)


def with_page(page_url: str, param: str, number: int) -> str:
    """`page_url` showing page `number` (the `param` query parameter; 1 is left out)."""
    parts = urlsplit(page_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != param]
    if number != 1:
        query.append((param, str(number)))
    return parts.path + (f"?{urlencode(query)}" if query else "")
