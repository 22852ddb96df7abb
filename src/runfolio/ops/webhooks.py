"""Webhook operations: every one takes the admin role of the workspace.

Listing takes it too: a webhook's URL often carries a token of the receiving service.
A webhook's secret is returned only by `create_webhook`.
"""

from __future__ import annotations

import uuid

from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.schemas.webhooks import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)
from runfolio.store import webhooks as store


def create_webhook(ctx: Context, action: WebhookCreate) -> WebhookCreated:
    with ctx.writing(Role.ADMIN) as (conn, ws):
        made = store.create(conn, ws, action, ctx.caller.principal.name)
    store.forget_no_webhooks(ws)  # once committed: this process's next write sees it
    return made


def list_webhooks(ctx: Context) -> list[Webhook]:
    with ctx.reading(Role.ADMIN) as (conn, ws):
        return store.list_webhooks(conn, ws)


def read_webhook(ctx: Context, webhook_id: uuid.UUID) -> Webhook:
    with ctx.reading(Role.ADMIN) as (conn, ws):
        return store.read(conn, ws, webhook_id)


def update_webhook(ctx: Context, webhook_id: uuid.UUID, action: WebhookUpdate) -> Webhook:
    with ctx.writing(Role.ADMIN) as (conn, ws):
        changed = store.update_webhook(conn, ws, webhook_id, action)
    store.forget_no_webhooks(ws)
    return changed


def delete_webhook(ctx: Context, webhook_id: uuid.UUID) -> None:
    with ctx.writing(Role.ADMIN) as (conn, ws):
        store.delete_webhook(conn, ws, webhook_id)


def send_test_event(ctx: Context, webhook_id: uuid.UUID) -> uuid.UUID:
    """Queue a `webhook.test` call to the webhook; the delivery's id."""
    with ctx.writing(Role.ADMIN) as (conn, ws):
        return store.enqueue_test(conn, ws, webhook_id)


def list_deliveries(ctx: Context, webhook_id: uuid.UUID, limit: int = 50) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first."""
    with ctx.reading(Role.ADMIN) as (conn, ws):
        return store.deliveries(conn, ws, webhook_id, limit)
