"""`/blobs`: uploaded images and files (a runfolio extension of the protocol).

    POST /blobs            the raw request body is the file; its Content-Type is kept,
                           a file name may come as `?filename=` or `X-Filename`
    GET  /blobs/{sha256}   the bytes, streamed (see `runfolio.server.blob_responses`)

Both are also served under `/api/accounts/{a}/workspaces/{w}`; a blob is readable
only in a workspace it was uploaded to, whatever its hash.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runfolio.errors import Busy, TooLarge
from runfolio.ops import blobs as ops
from runfolio.schemas.blobs import MAX_FILENAME, SHA256_PATTERN, Blob
from runfolio.server.blob_responses import blob_response
from runfolio.server.deps import ApiDep
from runfolio.server.errors import detail
from runfolio.server.responses import model_response
from runfolio.store.blobfiles import BlobFiles

router = APIRouter(prefix="/blobs", tags=["blobs"])

# A file name: no control characters (folders are dropped, only the base name is kept).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*$"

_RAW_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes. Any Content-Type (image/png, text/csv...) is "
        "accepted and stored with them; application/octet-stream when none is sent.",
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary", "minLength": 1}
            }
        },
    }
}


def blob_files(request: Request) -> BlobFiles:
    files: BlobFiles = request.app.state.blob_files
    return files


@router.post(
    "",
    status_code=201,
    response_model=Blob,
    openapi_extra=_RAW_BODY,
    responses={
        200: {"model": Blob, "description": "The workspace already held these bytes."},
        413: {"description": "Larger than RUNFOLIO_BLOB_MAX_BYTES; nothing was stored."},
    },
)
async def upload_blob(
    request: Request,
    api: ApiDep,
    filename: Annotated[str | None, Query(max_length=MAX_FILENAME, pattern=NAME_PATTERN)] = None,
    x_filename: Annotated[str | None, Header(max_length=MAX_FILENAME, pattern=NAME_PATTERN)] = None,
) -> Response:
    """Store an image or file, content-addressed; answers its hash and the URL to read it."""
    content_type, name = ops.upload_metadata(
        request.headers.get("content-type"), filename or x_filename
    )
    await api.read(ops.check_may_upload)  # refused before a byte is written
    files = blob_files(request)
    stager = await run_in_threadpool(files.stager)
    try:
        # Chunks as they arrive: hashed and appended to the staged file (page-cache writes
        # of at most a chunk; the one slow call, fsync, runs in a thread below).
        async for chunk in request.stream():
            stager.write(chunk)
    except TooLarge as exc:
        return detail(413, str(exc))
    except BaseException:
        stager.abort()
        raise
    staged = await run_in_threadpool(stager.finish)
    try:
        blob, created = await api.write(ops.add_blob, files, staged, content_type, name)
    except Busy:
        files.discard(staged)  # the write never ran (add_blob cleans up after itself)
        raise
    return model_response(blob, 201 if created else 200)


@router.get(
    "/{sha256}",
    response_class=Response,
    responses={200: {"description": "The bytes, with their stored type.", "content": {"*/*": {}}}},
)
async def read_blob(
    sha256: Annotated[str, Path(pattern=SHA256_PATTERN)], request: Request, api: ApiDep
) -> Response:
    """The bytes of a blob of this workspace."""
    blob, path = await api.read(ops.read_blob, blob_files(request), sha256)
    return blob_response(blob, path)
