"""CSRF tokens for the UI's forms: every state-changing POST repeats one.

A signed-in user's token is their session's (`SignedIn.csrf_token`, stored with
the session). Before sign-in (the sign-in form itself, and servers open to all)
there is no session: the token is a random double-submit cookie
(`runfolio_csrf`, SameSite=Strict) that the form repeats in a hidden field; a
cross-site form can neither read the cookie nor make the browser send it.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from runfolio.server.auth import SignedIn
from runfolio.server.ui.cookies import CSRF_COOKIE

FIELD = "csrf_token"
# A token we made is 43 characters; anything much longer was not made here.
MAX_TOKEN = 200


def cookie_token(request: Request) -> str | None:
    """The double-submit cookie's token, if the browser sent a plausible one."""
    token = request.cookies.get(CSRF_COOKIE)
    return token if token and len(token) <= MAX_TOKEN else None


def page_token(request: Request, signed_in: SignedIn | None) -> tuple[str, bool]:
    """The token a page's forms carry, and whether it is new (the response must then
    set the cookie)."""
    if signed_in is not None:
        return signed_in.csrf_token, False
    existing = cookie_token(request)
    if existing is not None:
        return existing, False
    return secrets.token_urlsafe(32), True


def expected(request: Request, signed_in: SignedIn | None) -> str | None:
    """The token a POST from this browser must carry (None: none can be right)."""
    return signed_in.csrf_token if signed_in is not None else cookie_token(request)


def matches(expected: str | None, given: str | None) -> bool:
    """Whether the submitted token is the expected one (in constant time)."""
    if not expected or not given or len(given) > MAX_TOKEN:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
