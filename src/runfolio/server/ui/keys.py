"""The API keys page of the current workspace, and its forms.

    GET  /keys         the keys (a workspace admin's: all; anyone else's: their own)
    POST /keys         create a key for the signed-in user: shown once, on the answer
    POST /keys/revoke  revoke one (their own; a workspace admin: any of the workspace)

Who may see, make and revoke which keys is decided in `rights.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.responses import RedirectResponse, Response

from runfolio.errors import Invalid
from runfolio.ops import Context
from runfolio.ops.access import Principal, Role
from runfolio.schemas.common import utcnow
from runfolio.server.deps import authenticator
from runfolio.server.ui import admin_forms, rights, urls
from runfolio.server.ui.account import NO_STORE
from runfolio.server.ui.admin_forms import Posted
from runfolio.server.ui.models import KeyRow, KeysPage
from runfolio.server.ui.pages import site
from runfolio.server.ui.site import PageApi
from runfolio.server.ui.templating import SECURITY_HEADERS, page
from runfolio.store import accounts
from runfolio.store.engine import write
from runfolio.store.workspaces import Workspace

router = APIRouter(include_in_schema=False)

# The form's expiry choices, in days (none: the key never expires).
EXPIRY_DAYS = {"none": None, "30": 30, "90": 90, "365": 365}
NOT_CREATED = "Key not created"
NONE_MADE = "No key was made."


def _row(key: accounts.ApiKey, now: dt.datetime) -> KeyRow:
    return KeyRow(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        user=key.username,
        role=key.role.label,
        created=key.created,
        last_used=key.last_used,
        expires=key.expires,
        status=key.status(now),
    )


def keys_page(ctx: Context, principal: Principal, workspace: Workspace, auth_on: bool) -> KeysPage:
    nobody = KeysPage(
        workspace=workspace.path, accounts_on=auth_on, user=None, manages=False, roles=[], keys=[]
    )
    if not auth_on:
        return nobody
    try:
        owner = rights.key_owner(principal, workspace.id)
    except rights.NoKeys:
        return nobody
    with ctx.reading() as (conn, workspace_id):
        found = accounts.workspace_keys(conn, workspace_id, owner)
    now = utcnow()
    user = principal.name if principal.user_id is not None else None
    roles = rights.key_roles(principal, workspace.id) if user else []
    return KeysPage(
        workspace=workspace.path,
        accounts_on=True,
        user=user,
        manages=owner is None,
        roles=[role.label for role in roles],
        keys=[_row(key, now) for key in reversed(found)],  # newest first
    )


@site.page(urls.KEYS, template="keys.html", nav="keys")
async def keys(api: PageApi) -> KeysPage:
    """The current workspace's API keys (never their secrets)."""
    assert api.header is not None and api.workspace is not None  # page_api sets both
    return await api.read(keys_page, api.principal, api.workspace, api.header.auth_on)


def _create(
    engine: Engine,
    user_id: uuid.UUID,
    workspace: Workspace,
    role: Role,
    name: str,
    expires: dt.datetime | None,
) -> tuple[accounts.ApiKey, str]:
    with write(engine) as conn:
        user = accounts.user_by_id(conn, user_id)
        if user is None:
            raise Invalid.field(("user",), "your user no longer exists")
        # create_key checks the role against the user's own there, whatever the form offered.
        return accounts.create_key(conn, user, workspace, role, name, expires)


@router.post(urls.KEYS)
async def create_key(request: Request) -> Response:
    posted = await admin_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    user_id = posted.signed_in.principal.user_id
    assert user_id is not None  # a session is a user's
    form = posted.form
    back = urls.keys()
    try:
        role = Role.parse(form.get("role", ""))
    except ValueError as exc:
        return admin_forms.message(
            NOT_CREATED, f"role: {exc}. {NONE_MADE}", posted.header, status_code=400, back=back
        )
    if form.get("expires", "") not in EXPIRY_DAYS:
        choices = ", ".join(EXPIRY_DAYS)
        text = f"expires: choose one of {choices} (days). {NONE_MADE}"
        return admin_forms.message(NOT_CREATED, text, posted.header, status_code=400, back=back)
    days = EXPIRY_DAYS[form["expires"]]
    expires = None if days is None else utcnow() + dt.timedelta(days=days)
    state = request.app.state
    try:
        key, secret = await state.gate.write(
            _create, state.engine, user_id, posted.workspace, role, form.get("name", ""), expires
        )
    except Invalid as exc:
        text = f"{exc}. {NONE_MADE}"
        return admin_forms.message(NOT_CREATED, text, posted.header, status_code=400, back=back)
    # The secret exists only in this answer: not in a URL, a cookie, or any cache.
    context = {"key": _row(key, utcnow()), "secret": secret, "workspace": posted.workspace.path}
    response = page("key_created.html", context, status_code=201, header=posted.header)
    response.headers.update(NO_STORE)
    return response


def _revoke(
    engine: Engine, key_id: uuid.UUID, workspace: Workspace, owner: uuid.UUID | None
) -> accounts.ApiKey | None:
    with write(engine) as conn:
        return accounts.revoke_workspace_key(conn, key_id, workspace.id, owner)


def _not_yours(posted: Posted) -> Response:
    text = (
        "You may revoke only your own keys (a workspace admin: any key of the workspace), "
        f"and only keys of the workspace you are looking at ({posted.workspace.path}). "
        "Nothing was changed."
    )
    return admin_forms.message(
        "Key not revoked", text, posted.header, status_code=403, back=urls.keys()
    )


@router.post(urls.KEYS_REVOKE)
async def revoke_key(request: Request) -> Response:
    posted = await admin_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    try:
        key_id = uuid.UUID(posted.form.get("key_id", ""))
        owner = rights.key_owner(posted.principal, posted.workspace.id)
    except (ValueError, rights.NoKeys):
        return _not_yours(posted)
    state = request.app.state
    revoked = await state.gate.write(_revoke, state.engine, key_id, posted.workspace, owner)
    if revoked is None:
        return _not_yours(posted)
    authenticator(request).forget()  # this process's cache would honour it a second more
    return RedirectResponse(urls.keys(), status_code=303, headers=SECURITY_HEADERS)
