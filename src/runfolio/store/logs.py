"""Log lines of flow and task runs."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select

from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.runs import Log, LogCreate
from runfolio.store.tables import logs


def create_logs(conn: Connection, workspace_id: uuid.UUID, entries: list[LogCreate]) -> int:
    if not entries:
        return 0
    now = utcnow()
    conn.execute(
        logs.insert(),
        [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "created": now,
                **entry.model_dump(),
            }
            for entry in entries
        ],
    )
    return len(entries)


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
