"""The checks of the UI's forms that change artifacts and their retention (delete a
version or a key, set or remove a retention policy), before anything changes:

1. the CSRF token (the session's, or before sign-in the double-submit cookie's):
   missing or wrong is 403, nothing changed;
2. the caller's operations context in the workspace the pages show; the operation
   itself then checks the role it needs (deletes and policies: admin), so a caller
   below it gets 403 from the one check every route passes.

Unlike the account forms (`admin_forms`), they work on an open server too (accounts
off: a single local user, who may do anything).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from runfolio.errors import Forbidden, NotFound, Unauthenticated
from runfolio.ops import Context
from runfolio.server.ui import admin_forms, csrf, forms, urls
from runfolio.server.ui.models import Header
from runfolio.server.ui.site import PageApi, page_api, ui_principal
from runfolio.server.ui.templating import SECURITY_HEADERS

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Checked:
    """A form that passed the CSRF check, and the caller's context to act with."""

    form: dict[str, str]
    api: PageApi

    @property
    def header(self) -> Header | None:
        return self.api.header


async def checked(request: Request) -> Checked | Response:
    """The posted form once its CSRF token is right, else the page refusing it."""
    form = await forms.posted(request)
    try:
        _, signed_in = await ui_principal(request)
    except Unauthenticated:
        return RedirectResponse(urls.sign_in(), status_code=303, headers=SECURITY_HEADERS)
    if not csrf.matches(csrf.expected(request, signed_in), form.get(csrf.FIELD)):
        return admin_forms.refused()
    return Checked(form, await page_api(request))


async def run_write(
    request: Request,
    fn: Callable[Concatenate[Context, P], T],
    ctx: Context,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`fn(ctx, ...)` on the server's writer threads (as the API's writes run)."""
    gate = request.app.state.gate
    result: T = await gate.write(fn, ctx, *args, **kwargs)
    return result


def refusal(
    exc: Forbidden | NotFound, title: str, header: Header | None, back: str | None
) -> Response:
    """403 for a role below the operation's, 404 for what is not there: nothing changed."""
    status = 403 if isinstance(exc, Forbidden) else 404
    return admin_forms.message(
        title, f"{exc} Nothing was changed.", header, status_code=status, back=back
    )
