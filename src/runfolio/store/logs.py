"""Log lines of flow and task runs."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select

from runfolio.errors import Conflict
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.runs import Log, LogCreate
from runfolio.store.states import IN_CHUNK
from runfolio.store.tables import logs


def create_logs(conn: Connection, workspace_id: uuid.UUID, entries: list[LogCreate]) -> int:
    """Store log lines; the number stored.

    A line whose client-chosen id is already stored in this workspace (a resent batch)
    is skipped, as is a repeat within the batch. An id stored in another workspace is a
    Conflict and nothing is written: the key is the id alone, so the line cannot be
    stored, and skipping it would lose it silently (with uuid7 ids this does not happen
    by chance).
    """
    taken = _stored_ids(conn, workspace_id, [e.id for e in entries if e.id is not None])
    now = utcnow()
    rows = []
    for entry in entries:
        if entry.id is not None:
            if entry.id in taken:
                continue
            taken.add(entry.id)
        row = entry.model_dump()
        row.update(id=entry.id or new_id(), workspace_id=workspace_id, created=now)
        rows.append(row)
    if rows:
        conn.execute(logs.insert(), rows)
    return len(rows)


def _stored_ids(conn: Connection, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `ids` already stored in this workspace; Conflict if one is another's."""
    stored: set[uuid.UUID] = set()
    for start in range(0, len(ids), IN_CHUNK):
        query = select(logs.c.id, logs.c.workspace_id).where(
            logs.c.id.in_(ids[start : start + IN_CHUNK])
        )
        for row in conn.execute(query):
            if row.workspace_id != workspace_id:
                raise Conflict(f"Log id {row.id} is already used by another log line.")
            stored.add(row.id)
    return stored


def list_logs(
    conn: Connection,
    workspace_id: uuid.UUID,
    flow_run_id: uuid.UUID,
    limit: int = 200,
    offset: int = 0,
) -> list[Log]:
    stmt = (
        select(logs)
        .where(logs.c.workspace_id == workspace_id, logs.c.flow_run_id == flow_run_id)
        .order_by(logs.c.timestamp, logs.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [Log.model_validate(dict(row._mapping)) for row in conn.execute(stmt)]
