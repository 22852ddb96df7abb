"""Every URL of the UI, spelled once.

The route paths below (Starlette's syntax) are what `pages.py` registers, each
page at its path and its JSON twin at the same path under `API_UI`; the builder
functions fill the same paths in. Templates reach the builders as `url.<name>(...)`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

API_UI = "/api/ui"
STATIC = "/static"

HOME = "/"
ARTIFACTS = "/artifacts"
ARTIFACT_KEY = "/artifacts/key/{key}"
ARTIFACT = "/artifacts/{artifact_id:uuid}"
ARTIFACT_CSV = "/artifacts/{artifact_id:uuid}/table.csv"
# A key's history: two versions compared, its numbers over time, every version as a zip.
ARTIFACT_KEY_COMPARE = "/artifacts/key/{key}/compare"
ARTIFACT_KEY_TRENDS = "/artifacts/key/{key}/trends"
ARTIFACT_KEY_ARCHIVE = "/artifacts/key/{key}/history.zip"
ARTIFACT_DOWNLOAD = "/artifacts/{artifact_id:uuid}/download"  # ?format=md|csv|json
ARTIFACT_FRAME = "/artifacts/{artifact_id:uuid}/frame"  # an HTML artifact's sandboxed document
RUNS = "/runs"
RUN = "/runs/{run_id:uuid}"
# Run engines that speak the same protocol log `<server>/runs/flow-run/<id>`.
RUN_FROM_OTHER_CLIENTS = "/runs/flow-run/{run_id:uuid}"
LIVE = "/live"  # JSON only, under API_UI
BLOB = "/blobs/{sha256}"  # an uploaded file of the workspace the pages show
BLOB_PREVIEW = "/blobs/{sha256}/preview"  # the first lines of a text one
STREAM = "/stream"  # Server-Sent Events, under API_UI
SIGN_IN = "/sign-in"
SIGN_OUT = "/sign-out"
WORKSPACE = "/workspace"  # POST: choose the workspace pages show
KEYS = "/keys"  # GET: the workspace's API keys; POST: create one
KEYS_REVOKE = "/keys/revoke"  # POST
MEMBERS = "/members"  # GET: the workspace's members; POST: set one's role
# GET: confirm; POST: delete (the workspace's admins; everyone when accounts are off).
ARTIFACT_DELETE = "/artifacts/{artifact_id:uuid}/delete"  # one version
ARTIFACT_KEY_DELETE = "/artifacts/key/{key}/delete"  # every version of a key
RETENTION = "/retention"  # GET: the workspace's retention policies; POST: set one
RETENTION_REMOVE = "/retention/remove"  # POST
WEBHOOKS = "/webhooks"  # GET: the workspace's webhooks; POST: create one
WEBHOOKS_TEST = "/webhooks/test"  # POST: queue a test event to one
WEBHOOKS_DELETE = "/webhooks/delete"  # POST

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _fill(path: str, **values: object) -> str:
    return _PARAM.sub(lambda m: quote(str(values[m.group(1)]), safe=""), path)


def _query(**params: object) -> str:
    pairs = {
        k: v
        for k, v in params.items()
        if v is not None and v != "" and not (k.endswith("page") and v == 1)
    }
    return f"?{urlencode(pairs)}" if pairs else ""


def home() -> str:
    return HOME


def artifacts(
    q: str | None = None, type: str | None = None, sort: str | None = None, page: int = 1
) -> str:
    return ARTIFACTS + _query(q=q, type=type, sort=sort, page=page)


def artifact_key(key: str, version: uuid.UUID | None = None, vpage: int = 1) -> str:
    return _fill(ARTIFACT_KEY, key=key) + _query(version=version, vpage=vpage)


def artifact(artifact_id: uuid.UUID) -> str:
    return _fill(ARTIFACT, artifact_id=artifact_id)


def artifact_csv(artifact_id: uuid.UUID) -> str:
    return _fill(ARTIFACT_CSV, artifact_id=artifact_id)


def artifact_frame(artifact_id: uuid.UUID) -> str:
    return _fill(ARTIFACT_FRAME, artifact_id=artifact_id)


def artifact_compare(
    key: str, before: object = None, after: object = None, key_column: str | None = None
) -> str:
    """`key`'s versions `before` and `after` (numbers or ids) compared."""
    return _fill(ARTIFACT_KEY_COMPARE, key=key) + _query(
        **{"from": before, "to": after, "key_column": key_column}
    )


def artifact_trends(key: str) -> str:
    return _fill(ARTIFACT_KEY_TRENDS, key=key)


def artifact_archive(key: str) -> str:
    return _fill(ARTIFACT_KEY_ARCHIVE, key=key)


def artifact_download(artifact_id: uuid.UUID, format: str | None = None) -> str:
    return _fill(ARTIFACT_DOWNLOAD, artifact_id=artifact_id) + _query(format=format)


def blob(sha256: str) -> str:
    return _fill(BLOB, sha256=sha256)


def blob_preview(sha256: str) -> str:
    return _fill(BLOB_PREVIEW, sha256=sha256)


def runs(state: str | None = None, page: int = 1) -> str:
    return RUNS + _query(state=state, page=page)


def run(run_id: uuid.UUID, apage: int = 1, tpage: int = 1) -> str:
    return _fill(RUN, run_id=run_id) + _query(apage=apage, tpage=tpage)


def run_tasks(run_id: uuid.UUID, apage: int = 1, tpage: int = 1) -> str:
    """A run page opened on its task runs tab (no-JS: the page, where the table is)."""
    return run(run_id, apage, tpage) + "#tasks"


def task_run_anchor(run_id: uuid.UUID, task_run_id: uuid.UUID) -> str:
    return f"{run(run_id)}#task-{task_run_id}"


def keys() -> str:
    return KEYS


def members() -> str:
    return MEMBERS


def artifact_delete(artifact_id: uuid.UUID) -> str:
    return _fill(ARTIFACT_DELETE, artifact_id=artifact_id)


def artifact_key_delete(key: str) -> str:
    return _fill(ARTIFACT_KEY_DELETE, key=key)


def retention() -> str:
    return RETENTION


def webhooks() -> str:
    return WEBHOOKS


def sign_in(next: str | None = None) -> str:
    """The sign-in page, coming back to `next` (a local path) after."""
    return SIGN_IN + _query(next=next if next and next != HOME else None)


def local_path(value: str | None) -> str:
    """`value` if it is a path on this server, else `/`: where a form may send the
    browser next without making the server an open redirect.

    A single leading slash only: `//host` and `/\\host` are other hosts to browsers,
    which also drop tabs and newlines inside URLs.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def static(path: str) -> str:
    return f"{STATIC}/{path}"


# -- JSON ---------------------------------------------------------------------------


def api(page_url: str) -> str:
    """The JSON twin of a page URL: the same path and query under /api/ui."""
    return API_UI + (page_url if page_url != HOME else ARTIFACTS)


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
    return API_UI + LIVE + _query(**params)


def stream(
    artifacts: Iterable[uuid.UUID] = (),
    keys: Iterable[str] = (),
    runs: Iterable[uuid.UUID] = (),
    topics: Iterable[str] = (),
) -> str:
    """The changes a page listens to; `since` is now, when the page is drawn, so a
    change made between drawing and listening is still sent."""
    pairs: list[tuple[str, str]] = [
        ("artifacts", ",".join(str(a) for a in artifacts)),
        *(("key", k) for k in keys),
        ("runs", ",".join(str(r) for r in runs)),
        ("topics", ",".join(topics)),
        ("since", dt.datetime.now(dt.UTC).isoformat()),
    ]
    return API_UI + STREAM + "?" + urlencode([(k, v) for k, v in pairs if v])


def with_page(page_url: str, param: str, number: int) -> str:
    """`page_url` showing page `number` (the `param` query parameter; 1 is left out)."""
    parts = urlsplit(page_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != param]
    if number != 1:
        query.append((param, str(number)))
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return parts.path + (f"?{urlencode(query)}" if query else "") + fragment
