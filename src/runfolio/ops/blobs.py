"""Blob operations: upload (write role) and read (read role) in the caller's workspace."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from runfolio.errors import Invalid, NotFound
from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.schemas.blobs import Blob, blob_path, check_content_type, check_filename
from runfolio.store import blobs as store
from runfolio.store.blobfiles import BlobFiles, Staged, is_sha256


def _blob(ctx: Context, row: store.BlobRow) -> Blob:
    caller = ctx.caller
    url = blob_path(
        caller.account, caller.workspace, row.sha256, default=caller.is_default_workspace
    )
    return Blob(
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        filename=row.filename,
        url=url,
    )


def upload_metadata(content_type: str | None, filename: str | None) -> tuple[str, str | None]:
    """The content type and file name an upload is stored with; `Invalid` naming the
    field when one cannot be."""
    try:
        kept_type = check_content_type(content_type)
    except ValueError as exc:
        raise Invalid.field(("content_type",), str(exc), content_type) from None
    try:
        kept_name = check_filename(filename)
    except ValueError as exc:
        raise Invalid.field(("filename",), str(exc), filename) from None
    return kept_type, kept_name


def check_may_upload(ctx: Context) -> None:
    """Refuse an upload before its bytes are read (NotFound, Forbidden)."""
    with ctx.reading(Role.WRITE):
        pass


def add_blob(
    ctx: Context, files: BlobFiles, staged: Staged, content_type: str, filename: str | None
) -> tuple[Blob, bool]:
    """Put a staged upload in the store and let the workspace read it; `False` when the
    workspace already held those bytes. The staged file is gone afterwards either way."""
    if staged.size == 0:
        files.discard(staged)
        raise Invalid.field(("body",), "the upload is empty: send the file's bytes")
    committed = False
    try:
        with ctx.writing() as (conn, ws):
            # The file is in place before the row that lets anyone read it.
            files.commit(staged)
            committed = True
            row, created = store.record(
                conn,
                ws,
                staged.sha256,
                staged.size,
                content_type,
                filename,
                created_by=ctx.caller.principal.name,
            )
    except BaseException:
        # A file in place with no row is collected later (delete_unreferenced); the
        # staged name is only ours until it is moved.
        if not committed:
            files.discard(staged)
        raise
    return _blob(ctx, row), created


def upload_blob(
    ctx: Context,
    files: BlobFiles,
    source: BinaryIO,
    content_type: str | None = None,
    filename: str | None = None,
) -> Blob:
    """Store the bytes of a readable binary stream (the embedded client's upload)."""
    kept_type, kept_name = upload_metadata(content_type, filename)
    check_may_upload(ctx)
    staged = files.stage(source)
    return add_blob(ctx, files, staged, kept_type, kept_name)[0]


def read_blob(ctx: Context, files: BlobFiles, sha256: str) -> tuple[Blob, Path]:
    """A blob of the caller's workspace and the file holding its bytes."""
    if not is_sha256(sha256):
        raise Invalid.field(("path", "sha256"), "must be 64 lowercase hex digits", sha256)
    with ctx.reading() as (conn, ws):
        row = store.find(conn, ws, sha256)
    path = files.path_of(sha256)
    if not path.is_file():
        raise NotFound(f"Blob not found: the bytes of {sha256} are missing from the blob store")
    return _blob(ctx, row), path
