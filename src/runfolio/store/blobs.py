"""The `blobs` rows: which workspace may read which stored bytes, and as what.

The bytes are in the blob store's files (`runfolio.store.blobfiles`), once per
SHA-256 whatever the number of workspaces holding them; a row per workspace
says that workspace may read them, with the content type and file name of its
first upload (a second upload of the same bytes to the same workspace stores
nothing new).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Text,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
)

from runfolio.errors import NotFound
from runfolio.schemas.common import utcnow
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.tables import artifact_row_appends, artifacts, blobs

#: An upload's row may wait this long for an artifact to refer to it before a
#: collection deletes it (the SDK uploads first, then writes the artifact).
UNREFERENCED_GRACE = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class BlobRow:
    sha256: str
    size: int
    content_type: str
    filename: str | None
    created: dt.datetime


def _row(row: Row[Any, Any, Any, Any, Any]) -> BlobRow:
    return BlobRow(row.sha256, row.size, row.content_type, row.filename, row.created)


_COLUMNS = (blobs.c.sha256, blobs.c.size, blobs.c.content_type, blobs.c.filename, blobs.c.created)


def find(conn: Connection, workspace_id: uuid.UUID, sha256: str) -> BlobRow:
    """The blob `sha256` of the workspace; NotFound when the workspace holds none (whether
    or not another workspace does)."""
    row = conn.execute(
        select(*_COLUMNS).where(blobs.c.workspace_id == workspace_id, blobs.c.sha256 == sha256)
    ).first()
    if row is None:
        raise NotFound(f"Blob not found: {sha256}")
    return _row(row)


def record(
    conn: Connection,
    workspace_id: uuid.UUID,
    sha256: str,
    size: int,
    content_type: str,
    filename: str | None,
    created_by: str | None = None,
) -> tuple[BlobRow, bool]:
    """Let the workspace read the stored bytes `sha256`; `False` when it already could
    (the row of the first upload is kept and returned)."""
    try:
        return find(conn, workspace_id, sha256), False
    except NotFound:
        pass
    now = utcnow()
    conn.execute(
        insert(blobs).values(
            workspace_id=workspace_id,
            sha256=sha256,
            size=size,
            content_type=content_type,
            filename=filename,
            created_by=created_by,
            created=now,
        )
    )
    return BlobRow(sha256, size, content_type, filename, now), True


def _referenced() -> ColumnElement[bool]:
    """True for a blob row whose hash appears in some artifact version (or appended
    table rows) of its workspace: references are URLs or `runfolio-blob:` names inside
    the data, and the hash is what they share."""
    in_artifacts = exists().where(
        artifacts.c.workspace_id == blobs.c.workspace_id,
        cast(artifacts.c.data, Text).contains(blobs.c.sha256),
    )
    in_rows = exists().where(
        artifact_row_appends.c.workspace_id == blobs.c.workspace_id,
        cast(artifact_row_appends.c.rows, Text).contains(blobs.c.sha256),
    )
    return in_artifacts | in_rows


def delete_unreferenced(
    conn: Connection,
    files: BlobFiles,
    *,
    workspace_id: uuid.UUID | None = None,
    older_than: dt.datetime | None = None,
) -> tuple[int, int]:
    """Delete the blob rows no artifact version refers to, and the files no row refers to
    any more; returns (rows deleted, bytes of files freed).

    `workspace_id` limits the rows looked at to one workspace (files are shared, and only
    go when no workspace holds them). Rows and files younger than `older_than` (default:
    `UNREFERENCED_GRACE` ago) are kept: an upload is made before the artifact that refers
    to it. Call it last in its transaction: the files are gone at once, and a rollback
    would bring back rows whose bytes are not there any more (they then read as 404).
    """
    cutoff = older_than or (utcnow() - UNREFERENCED_GRACE)
    where = [blobs.c.created < cutoff, ~_referenced()]
    if workspace_id is not None:
        where.append(blobs.c.workspace_id == workspace_id)
    doomed = conn.execute(select(blobs.c.workspace_id, blobs.c.sha256).where(and_(*where))).all()
    for ws, sha in doomed:
        conn.execute(delete(blobs).where(blobs.c.workspace_id == ws, blobs.c.sha256 == sha))
    still_held = set(conn.execute(select(func.distinct(blobs.c.sha256))).scalars())
    freed = 0
    cutoff_ts = cutoff.timestamp()
    for stored in list(files.files()):
        # Young files may belong to an upload whose row is being written right now.
        if stored.sha256 not in still_held and stored.modified < cutoff_ts:
            freed += files.remove(stored.sha256)
    freed += files.remove_stale_staging(cutoff_ts)
    return len(doomed), freed
