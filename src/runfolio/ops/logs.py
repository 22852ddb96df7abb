"""Log operations."""

from __future__ import annotations

import uuid

from runfolio.ops.context import Context
from runfolio.schemas.runs import Log, LogCreate
from runfolio.store import logs as store


def create_logs(ctx: Context, logs: list[LogCreate]) -> int:
    """Store log lines; the number stored (lines whose ids are stored already are skipped)."""
    with ctx.writing() as (conn, ws):
        return store.create_logs(conn, ws, logs)


def read_logs(
    ctx: Context, flow_run_id: uuid.UUID, limit: int | None = None, offset: int | None = None
) -> list[Log]:
    """The logs of one flow run, oldest first."""
    limit, offset = ctx.page(limit, offset)
    with ctx.reading() as (conn, ws):
        return store.list_logs(conn, ws, flow_run_id, limit, offset)
