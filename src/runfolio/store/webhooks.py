"""Webhooks and their deliveries: the rows, and the outbox the server's sender drains.

`enqueue` runs inside the transaction of the artifact write that triggers it, so
a delivery is committed exactly when its event is, and never waits on the network.
The sender (`runfolio.server.webhook_sender`) claims due rows with `claim` and
writes the outcome with `record_outcome`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, delete, select, update

from runfolio.errors import NotFound
from runfolio.schemas.artifacts import Artifact
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.webhooks import (
    ARTIFACT_EVENTS,
    TEST_EVENT,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)
from runfolio.store import appends
from runfolio.store.tables import artifacts, columns_in, webhook_deliveries, webhooks, workspaces
from runfolio.store.webhook_rules import concerns

NOT_FOUND = "Webhook not found."
SECRET_PREFIX = "whsec_"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
CREATED, UPDATED, DELETED = ARTIFACT_EVENTS

ARTIFACT_COLUMNS = columns_in(artifacts, Artifact.model_fields)
WEBHOOK_COLUMNS = columns_in(webhooks, Webhook.model_fields)
DELIVERY_COLUMNS = columns_in(webhook_deliveries, WebhookDelivery.model_fields)
# What enqueue needs of a workspace's active webhooks: one indexed query per write.
_ACTIVE = select(
    webhooks.c.id,
    webhooks.c.events,
    webhooks.c.key_pattern,
    webhooks.c.artifact_types,
    webhooks.c.rule,
).where(webhooks.c.workspace_id == bindparam("ws"), webhooks.c.active.is_(True))
_PATH = select(workspaces.c.account, workspaces.c.name).where(workspaces.c.id == bindparam("ws"))


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook.model_validate(row._mapping)


def create(
    conn: Connection, workspace_id: uuid.UUID, action: WebhookCreate, created_by: str | None
) -> WebhookCreated:
    now = utcnow()
    values = action.model_dump(mode="json")
    row = {
        "id": new_id(),
        "workspace_id": workspace_id,
        "secret": new_secret(),
        "created_by": created_by,
        "created": now,
        "updated": now,
        **values,
    }
    conn.execute(webhooks.insert(), row)
    return WebhookCreated.model_validate(row)


def list_webhooks(conn: Connection, workspace_id: uuid.UUID) -> list[Webhook]:
    rows = conn.execute(
        select(*WEBHOOK_COLUMNS)
        .where(webhooks.c.workspace_id == workspace_id)
        .order_by(webhooks.c.created)
    )
    return [_webhook(row) for row in rows]


def read(conn: Connection, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    row = conn.execute(
        select(*WEBHOOK_COLUMNS).where(
            webhooks.c.workspace_id == workspace_id, webhooks.c.id == webhook_id
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _webhook(row)


def update_webhook(
    conn: Connection, workspace_id: uuid.UUID, webhook_id: uuid.UUID, action: WebhookUpdate
) -> Webhook:
    changes = action.model_dump(mode="json", include=action.model_fields_set)
    done = conn.execute(
        update(webhooks)
        .where(webhooks.c.workspace_id == workspace_id, webhooks.c.id == webhook_id)
        .values(updated=utcnow(), **changes)
    )
    if done.rowcount == 0:
        raise NotFound(NOT_FOUND)
    return read(conn, workspace_id, webhook_id)


def delete_webhook(conn: Connection, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Delete a webhook and its delivery log (pending deliveries are not sent)."""
    read(conn, workspace_id, webhook_id)
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


def deliveries(
    conn: Connection, workspace_id: uuid.UUID, webhook_id: uuid.UUID, limit: int = 50
) -> list[WebhookDelivery]:
    """A webhook's deliveries, newest first."""
    read(conn, workspace_id, webhook_id)
    rows = conn.execute(
        select(*DELIVERY_COLUMNS)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.created.desc(), webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    return [WebhookDelivery.model_validate(row._mapping) for row in rows]


# -- enqueue -----------------------------------------------------------------------


# Workspaces found to have no active webhook, until when (monotonic): most have none, and
# the lookup costs a write about a fifth of a create's CPU. Like the server's cache of
# API keys, it may lag a change made by another process by up to NO_WEBHOOKS_SECONDS;
# changes made through this process's operations clear it at once (`forget_no_webhooks`).
NO_WEBHOOKS_SECONDS = 1.0
# (the engine's id, the workspace): one process may use several databases.
_NO_WEBHOOKS: dict[tuple[int, uuid.UUID], float] = {}


def forget_no_webhooks(workspace_id: uuid.UUID) -> None:
    """A webhook of the workspace changed: look again on its next write."""
    for key in [key for key in _NO_WEBHOOKS if key[1] == workspace_id]:
        _NO_WEBHOOKS.pop(key, None)


def active_hooks(conn: Connection, workspace_id: uuid.UUID) -> list[Row[Any]]:
    """The workspace's active webhooks (usually none: remembered for a second)."""
    if known_inactive(conn.engine, workspace_id):
        return []
    key = (id(conn.engine), workspace_id)
    found: list[Row[Any]] = list(conn.execute(_ACTIVE, {"ws": workspace_id}))
    if found:
        _NO_WEBHOOKS.pop(key, None)
    elif len(_NO_WEBHOOKS) < 10_000 or key in _NO_WEBHOOKS:
        _NO_WEBHOOKS[key] = time.monotonic() + NO_WEBHOOKS_SECONDS
    return found


def known_inactive(engine: Engine, workspace_id: uuid.UUID) -> bool:
    """Whether the workspace was seen to have no active webhook within the last
    `NO_WEBHOOKS_SECONDS` (no query: a write that skips queueing deliveries needs it)."""
    until = _NO_WEBHOOKS.get((id(engine), workspace_id))
    return until is not None and time.monotonic() < until


# Workspace paths by id: a workspace is never renamed, so they are safe to keep.
_PATHS: dict[uuid.UUID, str] = {}


def workspace_path(conn: Connection, workspace_id: uuid.UUID) -> str:
    path = _PATHS.get(workspace_id)
    if path is None:
        row = conn.execute(_PATH, {"ws": workspace_id}).one()
        path = f"{row.account}/{row.name}"
        if len(_PATHS) < 10_000:
            _PATHS[workspace_id] = path
    return path


def _iso(moment: dt.datetime) -> str:
    # As the API writes times: microseconds and a Z.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _insert(
    conn: Connection,
    workspace_id: uuid.UUID,
    webhook_ids: list[uuid.UUID],
    event: str,
    body: Mapping[str, Any],
) -> list[uuid.UUID]:
    now = utcnow()
    made = []
    rows = []
    for webhook_id in webhook_ids:
        delivery_id = new_id()
        made.append(delivery_id)
        # JSON-ready (the artifact is dumped in JSON mode), so what is stored is what is sent.
        payload = {"id": str(delivery_id), "type": event, "created": _iso(now), **body}
        rows.append(
            {
                "id": delivery_id,
                "webhook_id": webhook_id,
                "workspace_id": workspace_id,
                "event": event,
                "payload": payload,
                "status": PENDING,
                "attempts": 0,
                "next_attempt": now,
                "created": now,
            }
        )
    if rows:
        conn.execute(webhook_deliveries.insert(), rows)
    return made


def enqueue_artifact_event(
    conn: Connection,
    workspace_id: uuid.UUID,
    event: str,
    artifact: Artifact,
    *,
    before: Any = None,
    had_before: bool = False,
    hooks: list[Row[Any]] | None = None,
) -> int:
    """Queue a delivery of `event` for each active webhook it concerns; how many.

    `hooks`: the active webhooks when the caller already looked them up.
    """
    found = active_hooks(conn, workspace_id) if hooks is None else hooks
    if not found:
        return 0
    wanted = [
        hook.id
        for hook in found
        if concerns(
            hook._mapping,
            event,
            artifact.key,
            artifact.type,
            artifact.data,
            before,
            had_before,
        )
    ]
    if not wanted:
        return 0
    body = {
        "workspace": workspace_path(conn, workspace_id),
        "artifact": artifact.model_dump(mode="json"),
    }
    return len(_insert(conn, workspace_id, wanted, event, body))


def read_artifact(
    conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID
) -> Artifact | None:
    """An artifact version as an event carries it, or None when there is none."""
    row = conn.execute(
        select(*ARTIFACT_COLUMNS).where(
            artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id
        )
    ).first()
    if row is None:
        return None
    # A table's appended rows are part of its content (a rule on its last row sees them).
    return appends.merge_into(conn, workspace_id, [Artifact.model_validate(row._mapping)])[0]


def enqueue_test(conn: Connection, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> uuid.UUID:
    """Queue a `webhook.test` delivery to one webhook (active or not)."""
    read(conn, workspace_id, webhook_id)
    body = {"workspace": workspace_path(conn, workspace_id), "artifact": None}
    return _insert(conn, workspace_id, [webhook_id], TEST_EVENT, body)[0]


# -- the sender's side -------------------------------------------------------------


def any_due(conn: Connection, now: dt.datetime) -> bool:
    """Whether a delivery is due: a read, so an idle sender never takes the write lock."""
    return (
        conn.execute(
            select(webhook_deliveries.c.id)
            .where(webhook_deliveries.c.status == PENDING, webhook_deliveries.c.next_attempt <= now)
            .limit(1)
        ).first()
        is not None
    )


def claim(conn: Connection, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Row[Any]]:
    """Take up to `limit` due deliveries for `lease`: their next attempt moves to the
    lease's end, so another worker (or this one after a crash) takes them only then.

    Each row is claimed by a conditional UPDATE that only one claimer can win.
    """
    due = conn.execute(
        select(webhook_deliveries.c.id, webhook_deliveries.c.next_attempt)
        .where(webhook_deliveries.c.status == PENDING, webhook_deliveries.c.next_attempt <= now)
        .order_by(webhook_deliveries.c.next_attempt)
        .limit(limit)
    ).all()
    won = []
    for delivery_id, seen in due:
        taken = conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.status == PENDING,
                webhook_deliveries.c.next_attempt == seen,
            )
            .values(next_attempt=now + lease)
        )
        if taken.rowcount == 1:
            won.append(delivery_id)
    if not won:
        return []
    return list(
        conn.execute(
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.event,
                webhook_deliveries.c.payload,
                webhook_deliveries.c.attempts,
                webhook_deliveries.c.created,
                webhooks.c.url,
                webhooks.c.secret,
            )
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(webhook_deliveries.c.id.in_(won))
        )
    )


def record_outcome(
    conn: Connection,
    delivery_id: uuid.UUID,
    *,
    status: str,
    attempts: int,
    next_attempt: dt.datetime | None,
    status_code: int | None,
    error: str | None,
) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            status=status,
            attempts=attempts,
            next_attempt=next_attempt,
            last_status_code=status_code,
            last_error=error,
            delivered=utcnow() if status == DELIVERED else None,
        )
    )


def prune(conn: Connection, before: dt.datetime) -> int:
    """Delete delivered and failed deliveries made before `before`; how many."""
    done = conn.execute(
        delete(webhook_deliveries).where(
            webhook_deliveries.c.status != PENDING, webhook_deliveries.c.created < before
        )
    )
    return int(done.rowcount)


# -- the artifact writes' hooks -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Watch:
    """What a change of an existing artifact needs to know before it is made: the
    workspace's active webhooks and the artifact as it was."""

    hooks: list[Row[Any]]
    before: Artifact


def watch(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> Watch | None:
    """None (one indexed query, nothing more) when the workspace has no active webhooks."""
    hooks = active_hooks(conn, workspace_id)
    if not hooks:
        return None
    before = read_artifact(conn, workspace_id, artifact_id)
    return None if before is None else Watch(hooks, before)


def artifact_created(conn: Connection, workspace_id: uuid.UUID, artifact: Artifact) -> None:
    enqueue_artifact_event(conn, workspace_id, CREATED, artifact)


def artifact_updated(
    conn: Connection, workspace_id: uuid.UUID, watched: Watch | None, after: Artifact | None = None
) -> None:
    """Queue `artifact.updated` once the change is written (`after`: the artifact as it
    is now, when the caller has it; else it is read)."""
    if watched is None:
        return
    after = after or read_artifact(conn, workspace_id, watched.before.id)
    if after is None:
        return
    enqueue_artifact_event(
        conn,
        workspace_id,
        UPDATED,
        after,
        before=watched.before.data,
        had_before=True,
        hooks=watched.hooks,
    )


def artifact_deleted(conn: Connection, workspace_id: uuid.UUID, watched: Watch | None) -> None:
    if watched is not None:
        enqueue_artifact_event(conn, workspace_id, DELETED, watched.before, hooks=watched.hooks)
