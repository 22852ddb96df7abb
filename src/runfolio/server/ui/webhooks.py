"""The webhooks page of the current workspace, for its admins, and its forms.

    GET  /webhooks         the webhooks, each with its latest deliveries
    POST /webhooks         create one: its signing secret is shown once, on the answer
    POST /webhooks/test    queue a `webhook.test` call to one
    POST /webhooks/delete  delete one and its delivery log

Whoever does not manage the workspace (`rights.manages`) gets 403 on all four; on a
server open to all (no accounts) anyone who reaches it does. Every form repeats
the CSRF token.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from runfolio.errors import Invalid, NotFound, Unauthenticated
from runfolio.ops import Context
from runfolio.ops import webhooks as ops
from runfolio.schemas.webhooks import ARTIFACT_EVENTS, Webhook, WebhookCreate, WebhookDelivery
from runfolio.server.api.webhooks import check_target, wake_sender
from runfolio.server.ui import admin_forms, csrf, forms, rights, urls
from runfolio.server.ui.account import NO_STORE
from runfolio.server.ui.models import Header
from runfolio.server.ui.pages import site
from runfolio.server.ui.site import ForbiddenPage, PageApi, page_api, ui_principal
from runfolio.server.ui.templating import SECURITY_HEADERS, page

router = APIRouter(include_in_schema=False)

#: Deliveries shown per webhook on the page.
SHOWN_DELIVERIES = 10
NOT_CREATED = "Webhook not created"


class DeliveryRow(BaseModel):
    id: uuid.UUID
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created: dt.datetime
    delivered: dt.datetime | None


class WebhookRow(BaseModel):
    id: uuid.UUID
    name: str
    url: str
    events: list[str]
    key_pattern: str | None
    artifact_types: list[str] | None
    rule: str | None = None  # as JSON text
    active: bool
    created: dt.datetime
    deliveries: list[DeliveryRow]


class WebhooksPage(BaseModel):
    workspace: str
    events: list[str]
    webhooks: list[WebhookRow]


def _delivery(d: WebhookDelivery) -> DeliveryRow:
    return DeliveryRow.model_validate(d.model_dump(exclude={"payload"}))


def _row(hook: Webhook, deliveries: list[WebhookDelivery]) -> WebhookRow:
    return WebhookRow(
        id=hook.id,
        name=hook.name,
        url=hook.url,
        events=hook.events,
        key_pattern=hook.key_pattern,
        artifact_types=hook.artifact_types,
        rule=None if hook.rule is None else json.dumps(hook.rule),
        active=hook.active,
        created=hook.created,
        deliveries=[_delivery(d) for d in deliveries],
    )


def webhooks_page(ctx: Context, workspace: str) -> WebhooksPage:
    hooks = ops.list_webhooks(ctx)
    rows = [_row(h, ops.list_deliveries(ctx, h.id, SHOWN_DELIVERIES)) for h in hooks]
    return WebhooksPage(workspace=workspace, events=list(ARTIFACT_EVENTS), webhooks=rows)


def _not_admin(workspace: str, header: Header | None) -> ForbiddenPage:
    return ForbiddenPage(
        "Webhooks",
        f"Only an admin of {workspace} may see and change its webhooks. Nothing was changed.",
        header,
    )


@site.page(urls.WEBHOOKS, template="webhooks.html", nav="webhooks")
async def webhooks(api: PageApi) -> WebhooksPage:
    """The current workspace's webhooks (never their secrets) and their latest deliveries."""
    assert api.workspace is not None  # page_api sets it
    if not rights.manages(api.principal, api.workspace.id):
        raise _not_admin(api.workspace.path, api.header)
    return await api.read(webhooks_page, api.workspace.path)


# -- the forms ------------------------------------------------------------------------


async def _checked(request: Request) -> tuple[dict[str, str], PageApi] | Response:
    """The posted form and the poster's context once the CSRF token matches and the
    poster manages the workspace the pages show; else the answer refusing it."""
    form = await forms.posted(request)
    try:
        _, signed_in = await ui_principal(request)
    except Unauthenticated:
        return RedirectResponse(urls.sign_in(), status_code=303, headers=SECURITY_HEADERS)
    if not csrf.matches(csrf.expected(request, signed_in), form.get(csrf.FIELD)):
        return admin_forms.refused()
    api = await page_api(request)
    assert api.workspace is not None  # page_api raises NoWorkspace when there is none
    if not rights.manages(api.principal, api.workspace.id):
        raise _not_admin(api.workspace.path, api.header)
    return form, api


def _fields(form: dict[str, str]) -> dict[str, Any]:
    """The create form's fields as the API's body (checked by `WebhookCreate`)."""
    fields: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "url": form.get("url", "").strip(),
        "events": [e for e in ARTIFACT_EVENTS if form.get(f"event_{e.split('.')[1]}") == "on"],
    }
    if pattern := form.get("key_pattern", "").strip():
        fields["key_pattern"] = pattern
    if types := [t.strip() for t in form.get("artifact_types", "").split(",") if t.strip()]:
        fields["artifact_types"] = types
    if rule := form.get("rule", "").strip():
        try:
            fields["rule"] = json.loads(rule)
        except ValueError as exc:
            raise Invalid.field(("rule",), f"is not JSON ({exc})", rule) from None
    return fields


def _reasons(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "form"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


@router.post(urls.WEBHOOKS)
async def create_webhook(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    form, api = checked
    back = urls.webhooks()
    try:
        action = WebhookCreate.model_validate(_fields(form))
        check_target(action.url, request.app.state.settings)
    except (ValidationError, Invalid) as exc:
        reason = _reasons(exc) if isinstance(exc, ValidationError) else str(exc)
        text = f"{reason}. No webhook was made."
        return admin_forms.message(NOT_CREATED, text, api.header, status_code=400, back=back)
    made = await request.app.state.gate.write(ops.create_webhook, api.ctx, action)
    # The secret exists only in this answer: not in a URL, a cookie, or any cache.
    context = {"hook": made, "secret": made.secret, "workspace": api.ctx.caller.workspace_path}
    response = page("webhook_created.html", context, status_code=201, header=api.header)
    response.headers.update(NO_STORE)
    return response


def _webhook_id(form: dict[str, str]) -> uuid.UUID | None:
    try:
        return uuid.UUID(form.get("webhook_id", ""))
    except ValueError:
        return None


async def _on_one(request: Request, title: str, operation: Any) -> Response:
    """Run `operation(ctx, webhook_id)` for the posted webhook, then back to the page."""
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    form, api = checked
    webhook_id = _webhook_id(form)
    try:
        if webhook_id is None:
            raise NotFound("Webhook not found.")
        await request.app.state.gate.write(operation, api.ctx, webhook_id)
    except NotFound:
        text = f"There is no such webhook in {api.ctx.caller.workspace_path}. Nothing was changed."
        return admin_forms.message(title, text, api.header, status_code=404, back=urls.webhooks())
    return RedirectResponse(urls.webhooks(), status_code=303, headers=SECURITY_HEADERS)


@router.post(urls.WEBHOOKS_TEST)
async def send_test_event(request: Request) -> Response:
    response = await _on_one(request, "Test event not sent", ops.send_test_event)
    if response.status_code == 303:
        wake_sender(request)
    return response


@router.post(urls.WEBHOOKS_DELETE)
async def delete_webhook(request: Request) -> Response:
    return await _on_one(request, "Webhook not deleted", ops.delete_webhook)
