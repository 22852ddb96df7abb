"""Uploaded files as the pages show them, from the workspace the pages show.

    GET /blobs/{sha256}          the bytes (READ), served as the API serves them
    GET /blobs/{sha256}/preview  the first lines of a text or CSV file, as plain text

The API's own `/api/.../blobs/{sha256}` takes an Authorization header, which an
`<img>` on a page cannot send; these take the page's sign-in instead. A file is
found only in the workspace the pages show, whatever the artifact's URL names.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from runfolio.errors import NotFound
from runfolio.ops import blobs as blob_ops
from runfolio.schemas.blobs import TEXT_TYPES, media_type
from runfolio.server.blob_responses import FRAMING, SANDBOX, blob_response
from runfolio.server.ui import urls
from runfolio.server.ui.site import PageApiDep
from runfolio.store.blobfiles import BlobFiles

router = APIRouter(include_in_schema=False)

PREVIEW_LINES = 200
PREVIEW_BYTES = 64 * 1024  # a file of few, very long lines is cut here


def _files(request: Request) -> BlobFiles:
    files: BlobFiles = request.app.state.blob_files
    return files


def first_lines(path: Path, lines: int = PREVIEW_LINES, limit: int = PREVIEW_BYTES) -> str:
    """The start of a text file, decoded leniently (a preview must not fail on bad bytes)."""
    with path.open("rb") as file:
        head = file.read(limit)
        more = bool(file.read(1))
    parts = head.split(b"\n", lines)
    cut = len(parts) > lines and (parts[lines] != b"" or more)
    text = b"\n".join(parts[:lines]).decode("utf-8", errors="replace")
    return text + "\n…" if cut or (more and len(parts) <= lines) else text


@router.get(urls.BLOB)
async def blob(sha256: str, request: Request, api: PageApiDep) -> Response:
    found, path = await api.read(blob_ops.read_blob, _files(request), sha256)
    return blob_response(found, path)


@router.get(urls.BLOB_PREVIEW)
async def blob_preview(sha256: str, request: Request, api: PageApiDep) -> Response:
    found, path = await api.read(blob_ops.read_blob, _files(request), sha256)
    if media_type(found.content_type) not in TEXT_TYPES:
        raise NotFound("Only text and CSV files have a preview.")
    text = await run_in_threadpool(first_lines, path)
    return PlainTextResponse(
        text,
        headers={
            "Content-Security-Policy": SANDBOX,
            "X-Content-Type-Options": "nosniff",
            **FRAMING,
        },
    )
