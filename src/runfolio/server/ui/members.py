"""The members page of the current workspace, for its admins, and its one form.

    GET  /members   the members and their roles (server admins: admin of every workspace)
    POST /members   give a user (a member, or an existing user to add) a role, or none

Whoever does not manage the workspace (`rights.manages`) gets 403 on both.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.responses import Response

from runfolio.errors import Invalid
from runfolio.ops import Context
from runfolio.ops.access import Principal, Role
from runfolio.server.deps import authenticator
from runfolio.server.ui import admin_forms, rights, urls
from runfolio.server.ui.admin_forms import Posted
from runfolio.server.ui.models import Header, MemberRow, MembersPage
from runfolio.server.ui.pages import site
from runfolio.server.ui.site import ForbiddenPage, PageApi
from runfolio.store import accounts
from runfolio.store.engine import write
from runfolio.store.workspaces import Workspace

router = APIRouter(include_in_schema=False)

NO_ROLE = "none"
NOT_CHANGED = "Role not changed"


def _not_admin(workspace: Workspace, header: Header | None) -> ForbiddenPage:
    return ForbiddenPage(
        "Members",
        f"Only an admin of {workspace.path} may see and change its members. Nothing was changed.",
        header,
    )


def members_page(
    ctx: Context, principal: Principal, workspace: Workspace, auth_on: bool
) -> MembersPage:
    if not auth_on:
        return MembersPage(workspace=workspace.path, accounts_on=False, members=[])
    with ctx.reading() as (conn, workspace_id):
        found = accounts.members_of(conn, workspace_id)
    rows = [
        MemberRow(
            username=m.user.username,
            role=m.role.label,
            server_admin=m.user.is_admin,
            disabled=m.user.disabled,
        )
        for m in found
    ]
    return MembersPage(workspace=workspace.path, accounts_on=True, members=rows)


@site.page(urls.MEMBERS, template="members.html", nav="members")
async def members(api: PageApi) -> MembersPage:
    """The current workspace's members and their roles (its admins only)."""
    assert api.header is not None and api.workspace is not None  # page_api sets both
    if api.header.auth_on and not rights.manages(api.principal, api.workspace.id):
        raise _not_admin(api.workspace, api.header)
    return await api.read(members_page, api.principal, api.workspace, api.header.auth_on)


def _set_role(
    engine: Engine, username: str, workspace: Workspace, role: Role | None
) -> tuple[accounts.User, int]:
    """Give `username` `role` (None: remove them); their user and how many keys changed.
    Invalid for an unknown user or a server admin, with nothing changed."""
    with write(engine) as conn:
        user = accounts.find_user(conn, username)
        if user.is_admin:
            raise Invalid.field(
                ("username",),
                f"{username} is a server admin: admin of every workspace, whatever their role "
                "here, so it is not changed here",
                username,
            )
        return user, accounts.set_role(conn, user, workspace, role)


def _confirmation(
    user: accounts.User, workspace: Workspace, role: Role | None, changed: int
) -> str:
    keys = f"{changed} API key{'s' if changed != 1 else ''} of theirs in {workspace.path}"
    if role is None:
        done = f"{user.username} no longer has a role in {workspace.path}."
        return f"{done} {keys} revoked." if changed else f"{done} They had no active keys here."
    done = f"{user.username} now has the {role.label} role in {workspace.path}."
    if changed:
        return f"{done} {keys} lowered to {role.label}."
    return f"{done} None of their keys here held more, so none changed."


def _refuse(posted: Posted, text: str, status_code: int = 400) -> Response:
    return admin_forms.message(
        NOT_CHANGED,
        f"{text} Nothing was changed.",
        posted.header,
        status_code=status_code,
        back=urls.members(),
    )


@router.post(urls.MEMBERS)
async def set_role(request: Request) -> Response:
    posted = await admin_forms.checked(request)
    if isinstance(posted, Response):
        return posted
    if not rights.manages(posted.principal, posted.workspace.id):
        raise _not_admin(posted.workspace, posted.header)
    username = posted.form.get("username", "").strip().lower()
    text = posted.form.get("role", "").strip().lower()
    try:
        role = None if text == NO_ROLE else Role.parse(text)
    except ValueError as exc:
        return _refuse(posted, f"role: {exc}, or {NO_ROLE} to remove the user.")
    state = request.app.state
    try:
        user, changed = await state.gate.write(
            _set_role, state.engine, username, posted.workspace, role
        )
    except Invalid as exc:
        return _refuse(posted, f"{exc}.")
    # Lowered or revoked keys must stop at once in this process, not a second later.
    authenticator(request).forget()
    text = _confirmation(user, posted.workspace, role, changed)
    return admin_forms.message(
        "Role changed", text, posted.header, status_code=200, back=urls.members()
    )
