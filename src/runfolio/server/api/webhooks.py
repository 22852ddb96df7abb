"""`/webhooks` routes: a workspace's webhooks and their delivery log (admin role)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from runfolio.errors import Invalid
from runfolio.ops import webhooks as ops
from runfolio.schemas.webhooks import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
    private_host,
)
from runfolio.server.deps import ApiDep, AppSettings
from runfolio.server.responses import empty, list_response, model_response
from runfolio.settings import Settings

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class TestQueued(BaseModel):
    """A test event was queued; its delivery shows in the webhook's delivery log."""

    delivery_id: uuid.UUID


def check_target(url: str | None, settings: Settings) -> None:
    """Refuse a loopback or private address when the settings forbid them."""
    if url is None or settings.webhook_allow_private:
        return
    host = private_host(url)
    if host is not None:
        raise Invalid.field(
            ("body", "url"),
            f"{host} is a loopback or private address, which this server does not call "
            "(RUNFOLIO_WEBHOOK_ALLOW_PRIVATE is off)",
            url,
        )


def wake_sender(request: Request) -> None:
    sender = getattr(request.app.state, "webhook_sender", None)
    if sender is not None:
        sender.wake()


@router.post("/", status_code=201, response_model=WebhookCreated)
async def create_webhook(body: WebhookCreate, api: ApiDep, settings: AppSettings) -> Response:
    """Make a webhook. The answer holds its signing `secret`: the only time it is shown."""
    check_target(body.url, settings)
    return model_response(await api.write(ops.create_webhook, body), 201)


@router.get("/", response_model=list[Webhook])
async def list_webhooks(api: ApiDep) -> Response:
    return list_response(await api.read(ops.list_webhooks), Webhook)


@router.get("/{webhook_id:uuid}", response_model=Webhook)
async def read_webhook(webhook_id: uuid.UUID, api: ApiDep) -> Response:
    return model_response(await api.read(ops.read_webhook, webhook_id))


@router.patch("/{webhook_id:uuid}", response_model=Webhook)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, api: ApiDep, settings: AppSettings
) -> Response:
    """Change some fields (`active: false` pauses it); the secret stays."""
    check_target(body.url, settings)
    return model_response(await api.write(ops.update_webhook, webhook_id, body))


@router.delete("/{webhook_id:uuid}", status_code=204)
async def delete_webhook(webhook_id: uuid.UUID, api: ApiDep) -> Response:
    """Delete a webhook and its delivery log."""
    await api.write(ops.delete_webhook, webhook_id)
    return empty()


@router.post("/{webhook_id:uuid}/test", status_code=202, response_model=TestQueued)
async def send_test_event(webhook_id: uuid.UUID, api: ApiDep, request: Request) -> Response:
    """Queue a `webhook.test` call to the webhook (sent at once by the server)."""
    delivery = await api.write(ops.send_test_event, webhook_id)
    wake_sender(request)
    return model_response(TestQueued(delivery_id=delivery), 202)


@router.get("/{webhook_id:uuid}/deliveries", response_model=list[WebhookDelivery])
async def list_deliveries(
    webhook_id: uuid.UUID,
    api: ApiDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The webhook's latest deliveries, newest first: status, calls made, last answer."""
    found = await api.read(ops.list_deliveries, webhook_id, limit)
    return list_response(found, WebhookDelivery)
