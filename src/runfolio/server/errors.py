"""The one place that maps errors to HTTP answers, in the protocol's JSON shapes."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from runfolio.errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    LimitTooLarge,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from runfolio.schemas.common import JSON_TOO_DEEP, json_depth_exceeds
from runfolio.schemas.errors import ErrorDetail, Rejected, Unavailable
from runfolio.store.engine import is_unreachable
from runfolio.store.tables import metadata
from runfolio.store.types import JSONText

log = logging.getLogger("runfolio.server")

# How deep a refused body may be and still be echoed in the 422 (its writing is recursive).
ECHO_DEPTH = 100

# The error answers any API operation may give, declared once for the OpenAPI document
# (where the routers are included) in the shapes the handlers below build.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorDetail,
        "description": "The body is not readable as UTF-8 JSON, or the X-PREFECT-API-VERSION "
        "header is malformed or older than the server supports.",
    },
    401: {
        "model": ErrorDetail,
        "description": "Credentials are needed (this server has users) and were missing, "
        "malformed, revoked or expired.",
    },
    403: {"model": ErrorDetail, "description": "The caller's role does not allow this."},
    404: {
        "model": ErrorDetail,
        "description": "No such object, no route at this address, or a workspace that does "
        "not exist or is not the caller's.",
    },
    409: {"model": ErrorDetail, "description": "The write contradicts what is stored."},
    413: {"model": ErrorDetail, "description": "The body is larger than the server accepts."},
    422: {"model": Rejected, "description": "The request is refused; nothing was written."},
    503: {"model": Unavailable, "description": "The database is unavailable or busy; retry."},
}


def _jsonable(value: Any) -> Any:
    """Make an error body renderable whatever the input held: non-finite floats (which
    JSON cannot carry) become their token text, lone surrogates (which UTF-8 cannot
    carry) become U+FFFD."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value if value.isascii() or _encodable(value) else _replace_surrogates(value)
    if isinstance(value, dict):
        return {_jsonable(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def _string_at(
    value: Any,
    loc: list[str | int],
    refused: Callable[[str], bool],
    skip: frozenset[str] = frozenset(),
) -> tuple[list[str | int], str] | None:
    """Where in a parsed body the first string the database refused sits (fields
    named in `skip` are not looked into)."""
    if isinstance(value, str):
        return (loc, value) if refused(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip:
                continue
            found = _string_at(key, [*loc, key], refused, skip)
            found = found or _string_at(item, [*loc, key], refused, skip)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _string_at(item, [*loc, index], refused, skip)
            if found:
                return found
    return None


# Fields stored as JSON text: a NUL in them is written escaped, so it is never what
# the database refused.
_JSON_FIELDS = frozenset(
    column.name
    for table in metadata.tables.values()
    for column in table.columns
    if isinstance(column.type, JSONText)
)


def _not_unicode(text: str) -> bool:
    return not (text.isascii() or _encodable(text))


def _holds_nul(text: str) -> bool:
    return "\x00" in text


def detail(status_code: int, message: str) -> JSONResponse:
    """`{"detail": ...}`: explicit not-found, conflict and limit errors."""
    return JSONResponse({"detail": message}, status_code=status_code)


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    # pydantic puts exception objects in `ctx`; the wire wants plain JSON.
    out = {k: v for k, v in error.items() if k != "url"}
    if "ctx" in out:
        out["ctx"] = {
            k: v if isinstance(v, int | float | str) else str(v) for k, v in out["ctx"].items()
        }
    return out


def validation_error(errors: list[dict[str, Any]], body: Any) -> JSONResponse:
    """422 naming each field and the reason."""
    return JSONResponse(
        _jsonable(
            {
                "exception_message": "Invalid request received.",
                "exception_detail": [_clean(e) for e in errors],
                "request_body": body,
            }
        ),
        status_code=422,
    )


async def _request_body(request: Request) -> Any:
    """The JSON body of a request whose route already read it (null if there is none)."""
    try:
        raw = await request.body()
    except RuntimeError:  # the stream was consumed without being kept
        return None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


async def _on_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = exc.body
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            body = body.decode("utf-8", "replace")
    raw_errors = list(exc.errors())
    if any(error.get("type") == JSON_TOO_DEEP for error in raw_errors):
        # Echo neither the value nor (past what can be written back) the body: both are
        # as deep as the limit that refused them.
        raw_errors = [{**error, "input": None} for error in raw_errors]
        if json_depth_exceeds(body, ECHO_DEPTH):
            body = None
    errors = json.loads(json.dumps(raw_errors, default=str))
    return validation_error(errors, body)


async def _refused_string(
    request: Request,
    exc: Exception,
    refused: Callable[[str], bool],
    error_type: str,
    msg: str,
    skip: frozenset[str] = frozenset(),
) -> JSONResponse:
    """The database refused a string of the request (the transaction was rolled back):
    a 422 at that string, or a 500 if no string of the request explains it."""
    body = await _request_body(request)
    found = _string_at(body, ["body"], refused, skip)
    if found is None:  # not the request's fault
        return await _on_unhandled(request, exc)
    loc, value = found
    return validation_error([{"type": error_type, "loc": loc, "msg": msg, "input": value}], body)


async def _on_unencodable(request: Request, exc: Exception) -> JSONResponse:
    """A string with a lone surrogate (`"\\ud800"` is valid JSON but not Unicode text)."""
    return await _refused_string(
        request,
        exc,
        _not_unicode,
        "string_unicode",
        "Input should be a valid string: it holds a lone surrogate, not Unicode text",
    )


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL cannot store the NUL character in text (SQLite can)."""
    if "NUL" not in str(exc):
        return await _on_unhandled(request, exc)
    return await _refused_string(
        request,
        exc,
        _holds_nul,
        "string_nul",
        "Input should not contain the NUL character: this server's database cannot store it",
        _JSON_FIELDS,
    )


# Answers a GET outside /api that finds nothing (the web UI's 404 page), given the
# `NotFound` message, or None for an address no route serves.
NotFoundPage = Callable[[Request, str | None], Response]


def answer_pages_not_found(app: FastAPI, page: NotFoundPage) -> None:
    """Outside /api, answer a GET that finds nothing with `page` instead of JSON."""
    app.state.not_found_page = page


async def _on_not_found(request: Request, exc: Exception) -> Response:
    """Every 404, an unknown id or key or an address no route serves: `{"detail": ...}`
    under /api, the page `answer_pages_not_found` gave (if any) elsewhere."""
    page: NotFoundPage | None = getattr(request.app.state, "not_found_page", None)
    path = request.url.path
    if page and request.method == "GET" and not (path == "/api" or path.startswith("/api/")):
        return page(request, str(exc) if isinstance(exc, NotFound) else None)
    if isinstance(exc, HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=404, headers=exc.headers)
    return detail(404, str(exc))


async def _on_unauthenticated(request: Request, exc: Exception) -> Response:
    """401 with the challenge clients answer with a key (the UI's pages may send the
    browser to sign in instead, through `answer_pages_unauthenticated`)."""
    page: Callable[[Request], Response] | None = getattr(
        request.app.state, "sign_in_redirect", None
    )
    path = request.url.path
    if page and request.method == "GET" and not (path == "/api" or path.startswith("/api/")):
        return page(request)
    return JSONResponse(
        {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


async def _on_forbidden(request: Request, exc: Exception) -> JSONResponse:
    return detail(403, str(exc))


async def _on_too_many(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyAttempts)
    retry_after = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": retry_after})


async def _on_conflict(request: Request, exc: Exception) -> JSONResponse:
    return detail(409, str(exc))


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Invalid)
    if isinstance(exc, LimitTooLarge):
        response = detail(422, str(exc))
        response.headers[LimitTooLarge.header] = str(exc.max_limit)
        return response
    if exc.errors:
        return validation_error(exc.errors, await _request_body(request))
    return detail(422, str(exc))


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    return detail(409, "Data integrity conflict. The write contradicts what is stored.")


# What a client is told while the database server is down or restarting.
UNREACHABLE = "The database cannot be reached (it may be restarting); retry shortly."
UNREACHABLE_RETRY_AFTER = 5.0


async def _on_operational(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    log.warning("database unavailable: %s", exc)
    if is_unreachable(exc):
        # The server refused or dropped the connection: the pool (pre-ping) reconnects by
        # itself once it is back, so this is a retry-later answer with Retry-After, like
        # Busy's. Not "nothing was written": a commit cut off midway may have landed.
        return await _on_busy(request, Busy(UNREACHABLE, retry_after=UNREACHABLE_RETRY_AFTER))
    return JSONResponse({"exception_message": "Service Unavailable"}, status_code=503)


async def _on_busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Busy)
    retry_after = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": retry_after})


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await _on_not_found(request, exc)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: the router's own 405 names only
    those of the first route whose path matched."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    )


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"exception_message": "Internal Server Error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(NotFound, _on_not_found)
    app.add_exception_handler(Conflict, _on_conflict)
    app.add_exception_handler(Unauthenticated, _on_unauthenticated)
    app.add_exception_handler(Forbidden, _on_forbidden)
    app.add_exception_handler(TooManyAttempts, _on_too_many)
    app.add_exception_handler(Invalid, _on_invalid)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(UnicodeEncodeError, _on_unencodable)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(OperationalError, _on_operational)
    app.add_exception_handler(Busy, _on_busy)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unhandled)
