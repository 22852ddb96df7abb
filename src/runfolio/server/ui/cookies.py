"""The UI's cookies and their flags, set and cleared in one place.

All are HttpOnly (no script reads them) and Secure when the request came over
https (a plain-http server, e.g. on loopback, could not set them otherwise).
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response

from runfolio.server.auth import SESSION_COOKIE

CSRF_COOKIE = "runfolio_csrf"
WORKSPACE_COOKIE = "runfolio_workspace"
# A workspace choice is a preference, not a credential: it may outlive sessions.
WORKSPACE_SECONDS = 365 * 24 * 3600

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "WORKSPACE_COOKIE",
    "clear_session",
    "set_csrf",
    "set_session",
    "set_workspace",
]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, lifetime: dt.timedelta) -> None:
    # Lax: following a link to the server from elsewhere still finds the user signed in;
    # cross-site POSTs do not carry it (and every form checks its CSRF token anyway).
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def set_csrf(response: Response, request: Request, token: str) -> None:
    # Strict: only this site's own pages ever send it back, so another site cannot
    # submit a form that carries it.
    response.set_cookie(
        CSRF_COOKIE, token, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def set_workspace(response: Response, request: Request, path: str) -> None:
    response.set_cookie(
        WORKSPACE_COOKIE,
        path,
        max_age=WORKSPACE_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
