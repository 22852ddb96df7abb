"""The change cursor: one small row per write that an open page shows.

Writes call `record` (or `record_many`) inside their own transaction, so a change
is visible exactly when the write is. Every server process reads the rows after
the last id it saw (`after`) and pushes them to its open pages; rows are only a
wake-up call (what changed, not the new content), so they are pruned after a few
minutes (`prune`, from a background task, never on the write path).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Insert, bindparam, delete, func, literal, select

from runfolio.schemas.common import utcnow
from runfolio.store.prepared import Prepared
from runfolio.store.tables import artifacts, changes
from runfolio.store.types import UTCDateTime

Topic = Literal["artifact", "flow_run", "task_run"]
Action = Literal["created", "updated", "deleted", "state"]

# Built once: the hot path (every artifact create) pays for one small INSERT only.
_INSERT: Insert = changes.insert()
_ROW_COLUMNS = ("workspace_id", "topic", "action", "subject_id", "key", "flow_run_id", "at")
_INSERT_ONE = Prepared(_INSERT, _ROW_COLUMNS)
_COLUMNS = (
    changes.c.id,
    changes.c.workspace_id,
    changes.c.topic,
    changes.c.action,
    changes.c.subject_id,
    changes.c.key,
    changes.c.flow_run_id,
)
_AFTER = (
    select(*_COLUMNS)
    .where(changes.c.id > bindparam("last_"))
    .order_by(changes.c.id)
    .limit(bindparam("limit_"))
)


@dataclass(frozen=True, slots=True)
class Change:
    """One change: which object (`subject_id`, its `key` and flow run) and what happened."""

    id: int
    workspace_id: uuid.UUID
    topic: str
    action: str
    subject_id: uuid.UUID
    key: str | None
    flow_run_id: uuid.UUID | None

    def event(self) -> dict[str, Any]:
        """What a page is told (the workspace is the page's own, so it is left out)."""
        return {
            "id": self.id,
            "topic": self.topic,
            "action": self.action,
            "subject_id": str(self.subject_id),
            "key": self.key,
            "flow_run_id": str(self.flow_run_id) if self.flow_run_id else None,
        }


def row(
    workspace_id: uuid.UUID,
    topic: Topic,
    action: Action,
    subject_id: uuid.UUID,
    *,
    key: str | None = None,
    flow_run_id: uuid.UUID | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The values of one change row (for `record_many`)."""
    return {
        "workspace_id": workspace_id,
        "topic": topic,
        "action": action,
        "subject_id": subject_id,
        "key": key,
        "flow_run_id": flow_run_id,
        "at": at or utcnow(),
    }


def record(
    conn: Connection,
    workspace_id: uuid.UUID,
    topic: Topic,
    action: Action,
    subject_id: uuid.UUID,
    *,
    key: str | None = None,
    flow_run_id: uuid.UUID | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Note one change, in the caller's transaction."""
    _INSERT_ONE.run(
        conn,
        row(workspace_id, topic, action, subject_id, key=key, flow_run_id=flow_run_id, at=at),
    )


def artifact_change_from(
    action: Action,
    subject_id: ColumnElement[Any],
    workspace_id: ColumnElement[Any],
    key: ColumnElement[Any],
    flow_run_id: ColumnElement[Any],
    at: ColumnElement[Any],
) -> Insert:
    """The change row of an artifact written in the same statement: an INSERT from the
    row(s) `subject_id` is a column of (none if the artifact was not written)."""
    values = (
        workspace_id,
        literal("artifact"),
        literal(action),
        subject_id,
        key,
        flow_run_id,
        at,
    )
    return changes.insert().from_select(list(_ROW_COLUMNS), select(*values))


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Note several changes with one executemany (a batch of task runs)."""
    _INSERT_ONE.run_many(conn, rows)


def record_deleted_artifacts(conn: Connection, where: Sequence[ColumnElement[bool]]) -> None:
    """Note the deletion of every artifact version matching `where` (before it is
    deleted), in the database alone: a bulk delete sends no ids through Python."""
    a = artifacts
    conn.execute(
        changes.insert().from_select(
            ["workspace_id", "topic", "action", "subject_id", "key", "flow_run_id", "at"],
            select(
                a.c.workspace_id,
                literal("artifact"),
                literal("deleted"),
                a.c.id,
                a.c.key,
                a.c.flow_run_id,
                literal(utcnow(), UTCDateTime),
            )
            .where(*where)
            .order_by(a.c.created, a.c.id),
        )
    )


def _to_change(r: Any) -> Change:
    return Change(
        id=int(r.id),
        workspace_id=r.workspace_id,
        topic=r.topic,
        action=r.action,
        subject_id=r.subject_id,
        key=r.key,
        flow_run_id=r.flow_run_id,
    )


def after(conn: Connection, last: int, limit: int = 500) -> list[Change]:
    """Changes of every workspace after id `last`, oldest first (what a process watches)."""
    return [_to_change(r) for r in conn.execute(_AFTER, {"last_": last, "limit_": limit})]


def backlog(
    conn: Connection,
    workspace_id: uuid.UUID,
    *,
    after_id: int | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
) -> list[Change]:
    """One workspace's changes after id `after_id` (a stream resumed with Last-Event-ID),
    or written at or after `since` (a page rendered then), oldest first."""
    stmt = select(*_COLUMNS).where(changes.c.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(changes.c.id > after_id)
    if since is not None:
        stmt = stmt.where(changes.c.at >= since)
    stmt = stmt.order_by(changes.c.id).limit(limit)
    return [_to_change(r) for r in conn.execute(stmt)]


def oldest_id(conn: Connection) -> int | None:
    """The oldest change kept (None when there is none)."""
    found = conn.execute(select(func.min(changes.c.id))).scalar_one()
    return None if found is None else int(found)


def last_id(conn: Connection) -> int:
    """The newest change's id (0 when there is none)."""
    return int(conn.execute(select(func.coalesce(func.max(changes.c.id), 0))).scalar_one())


def prune(conn: Connection, older_than: dt.datetime) -> int:
    """Delete the changes written before `older_than`, except the newest; returns how many.

    The newest row stays because SQLite (the table has no AUTOINCREMENT) numbers a new
    row after the largest id present: with every row gone, ids would start again at 1,
    behind the cursors of the processes that watch.
    """
    newest = select(func.max(changes.c.id)).scalar_subquery()
    result = conn.execute(delete(changes).where(changes.c.at < older_than, changes.c.id < newest))
    return int(result.rowcount or 0)
