"""Signing in and out, and choosing the workspace the pages show: the UI's forms
that change state, each checking its CSRF token (`csrf.py`) before anything else.

    GET  /sign-in     the form (sets the double-submit CSRF cookie)
    POST /sign-in     username + password → a session cookie, 303 to `next`
    POST /sign-out    ends the session (its row, this process's cache, the cookie)
    POST /workspace   sets the workspace cookie, 303 back
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from runfolio.errors import TooManyAttempts, Unauthenticated
from runfolio.server.auth import SESSION_COOKIE
from runfolio.server.deps import authenticator
from runfolio.server.ui import cookies, csrf, forms, throttle, urls, workspace
from runfolio.server.ui.site import not_found_page, ui_principal
from runfolio.server.ui.templating import SECURITY_HEADERS, page
from runfolio.settings import Settings
from runfolio.store import accounts
from runfolio.store.engine import read, write

router = APIRouter(include_in_schema=False)

# One message whether the username exists or not: the form tells no one which do.
WRONG = "Wrong username or password."
REFUSED = (
    "This form has expired or did not come from this site, so nothing was changed. "
    "Go back, reload the page and try again."
)
# Longer than any username can be; what is longer is cut before it is counted.
MAX_USERNAME = 200
# Pages that hold a form's token must not be kept and replayed from a cache.
NO_STORE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


def sign_in_redirect(request: Request) -> Response:
    """A page asked for by someone not signed in: to the sign-in page, and back after."""
    query = request.url.query
    return _redirect(urls.sign_in(request.url.path + (f"?{query}" if query else "")))


def _refused() -> Response:
    context = {"title": "Form refused", "message": REFUSED}
    return page("message.html", context, status_code=403, header=None)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_page(
    request: Request, next_url: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    token, new = csrf.page_token(request, None)
    context = {"next_url": next_url, "error": error, "csrf_token": token}
    response = page("sign_in.html", context, status_code=status_code)
    response.headers.update(NO_STORE)
    if new:
        cookies.set_csrf(response, request, token)
    return response


@router.get(urls.SIGN_IN)
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    if not await authenticator(request).required():
        return _redirect(urls.local_path(next))  # an open server: nobody to sign in as
    return _sign_in_page(request, urls.local_path(next))


def _check_limits(engine: Engine, subjects: throttle.Subjects) -> None:
    with read(engine) as conn:
        throttle.check(conn, subjects)


def _check_password(engine: Engine, username: str, password: str) -> accounts.User | None:
    with read(engine) as conn:
        return accounts.check_password(conn, username, password)


def _failed(engine: Engine, subjects: throttle.Subjects) -> None:
    with write(engine) as conn:
        throttle.failed(conn, subjects)


def _start_session(
    engine: Engine, user: accounts.User, lifetime: dt.timedelta, subjects: throttle.Subjects
) -> str:
    with write(engine) as conn:
        throttle.succeeded(conn, subjects)
        token, _ = accounts.create_session(conn, user, lifetime)
        return token


@router.post(urls.SIGN_IN)
async def sign_in(request: Request) -> Response:
    form = await forms.posted(request)
    next_url = urls.local_path(form.get("next"))
    if not csrf.matches(csrf.cookie_token(request), form.get(csrf.FIELD)):
        return _refused()
    state = request.app.state
    engine: Engine = state.engine
    username = form.get("username", "").strip().lower()[:MAX_USERNAME]
    subjects = throttle.Subjects.of(username, _address(request))
    try:
        await state.gate.read(_check_limits, engine, subjects)
    except TooManyAttempts as exc:
        response = _sign_in_page(request, next_url, error=str(exc), status_code=429)
        response.headers["Retry-After"] = str(int(exc.retry_after))
        return response
    # argon2 takes tens of milliseconds of CPU on purpose: never on the event loop.
    user = await run_in_threadpool(_check_password, engine, username, form.get("password", ""))
    if user is None:
        await state.gate.write(_failed, engine, subjects)
        return _sign_in_page(request, next_url, error=WRONG, status_code=401)
    settings: Settings = state.settings
    lifetime = dt.timedelta(hours=settings.session_hours)
    token = await state.gate.write(_start_session, engine, user, lifetime, subjects)
    response = _redirect(next_url)
    cookies.set_session(response, request, token, lifetime)
    return response


def _end_session(engine: Engine, token: str) -> None:
    with write(engine) as conn:
        accounts.end_session(conn, token)


@router.post(urls.SIGN_OUT)
async def sign_out(request: Request) -> Response:
    form = await forms.posted(request)
    token = request.cookies.get(SESSION_COOKIE)
    auth = authenticator(request)
    signed_in = await auth.session(token)
    if token is None or signed_in is None:
        response = _redirect(urls.sign_in())  # nobody to sign out: nothing changes
        cookies.clear_session(response, request)
        return response
    if not csrf.matches(signed_in.csrf_token, form.get(csrf.FIELD)):
        return _refused()
    await request.app.state.gate.write(_end_session, request.app.state.engine, token)
    auth.forget()  # this process's cache would honour the token for up to a second more
    response = _redirect(urls.sign_in())
    cookies.clear_session(response, request)
    return response


@router.post(urls.WORKSPACE)
async def choose_workspace(request: Request) -> Response:
    form = await forms.posted(request)
    try:
        principal, signed_in = await ui_principal(request)
    except Unauthenticated:
        return _redirect(urls.sign_in())
    if not csrf.matches(csrf.expected(request, signed_in), form.get(csrf.FIELD)):
        return _refused()
    state = request.app.state
    found = await state.gate.read(workspace.readable, state.engine, principal)
    chosen = workspace.parse_choice(form.get("workspace"))
    match = next((w for w in found if (w.account, w.name) == chosen), None)
    if match is None:
        # A workspace that does not exist and one not the caller's answer alike.
        return not_found_page(request, f"Workspace not found: {form.get('workspace', '')}")
    response = _redirect(urls.local_path(form.get("next")))
    cookies.set_workspace(response, request, match.path)
    return response
