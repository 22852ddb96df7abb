"""What the account pages' forms (`keys.py`, `members.py`) share: the checks every
POST passes, in order, before it changes anything, and the pages that answer.

1. the CSRF token (the signed-in session's; stale or missing: 403, nothing changed)
2. a signed-in user (keys and roles belong to users: an open server has none)
3. the workspace the pages show (`workspace.choose`), where the change applies
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from runfolio.errors import Unauthenticated
from runfolio.ops.access import Principal
from runfolio.server.auth import SignedIn
from runfolio.server.deps import authenticator
from runfolio.server.ui import csrf, forms, urls
from runfolio.server.ui.account import REFUSED
from runfolio.server.ui.models import Header
from runfolio.server.ui.site import page_api, ui_principal
from runfolio.server.ui.templating import SECURITY_HEADERS, page
from runfolio.store.workspaces import Workspace

ACCOUNTS_OFF = (
    "Accounts are off: this server has no users, so anyone who can reach it may do "
    "anything and needs no API key. To turn accounts on, create a server admin on the "
    "server's machine with `runfolio user create NAME --admin`, then sign in as them."
)
SIGN_IN_FIRST = "API keys and roles belong to users: sign in to manage them."


@dataclass(frozen=True, slots=True)
class Posted:
    """A form that passed the checks: its fields, who sent it, and where it applies."""

    form: dict[str, str]
    principal: Principal
    signed_in: SignedIn
    header: Header
    workspace: Workspace


def message(
    title: str, text: str, header: Header | None, *, status_code: int, back: str | None = None
) -> Response:
    context = {"title": title, "message": text, "back": back}
    return page("message.html", context, status_code=status_code, header=header)


def refused() -> Response:
    return message("Form refused", REFUSED, None, status_code=403)


async def checked(request: Request) -> Posted | Response:
    """The posted form once it passes the module's checks, else the page refusing it."""
    form = await forms.posted(request)
    try:
        principal, signed_in = await ui_principal(request)
    except Unauthenticated:
        return RedirectResponse(urls.sign_in(), status_code=303, headers=SECURITY_HEADERS)
    if not csrf.matches(csrf.expected(request, signed_in), form.get(csrf.FIELD)):
        return refused()
    if signed_in is None:
        required = await authenticator(request).required()
        text = SIGN_IN_FIRST if required else ACCOUNTS_OFF
        return message("Accounts", text, None, status_code=403)
    api = await page_api(request)
    # page_api raises NoWorkspace when there is none: these are set.
    assert api.header is not None and api.workspace is not None
    return Posted(form, principal, signed_in, api.header, api.workspace)
