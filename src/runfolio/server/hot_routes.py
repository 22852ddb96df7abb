"""Hot routes: the API's most frequent requests, served without FastAPI's routing.

Every task run creates artifacts and updates progress, so `POST .../artifacts/` and
`PATCH .../artifacts/{id}` are most of a busy server's requests. For them, FastAPI's
per-request machinery (matching the path against every route, solving dependencies,
the body field's handling, its exception and exit-stack layers) cost about half as
much CPU again as the database write itself. The artifact listings (`POST
.../artifacts/filter`, `.../artifacts/latest/filter`), which clients page through,
are served here too. `HotRoutes` sits inside the middleware that
guards every request (host check, body limit, API version, write counting) and serves
these routes itself, doing what their FastAPI routes do, step for step: the same
credentials check and workspace (`deps.api_for`), the same body reading (JSON only for
a JSON content type, then the model validated in python mode), the same operation,
response and exception handlers.

Only the plain case is served here. Anything unusual (another content type, an empty
or unreadable body, a body the model refuses, a client gone mid-body) is handed on to
the FastAPI route with the body replayed, so every such answer is the framework's own.
The FastAPI routes stay declared: they are what the OpenAPI document describes.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runfolio.server.deps import Api, api_for

B = TypeVar("B", bound=BaseModel)

# Path parameters as Starlette's convertors match them: `{name}` any text but a slash,
# `{name:uuid}` a UUID (its regex, dashes optional).
_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_UUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_CONVERTOR_REGEX = {None: "[^/]+", "uuid": _UUID}


@dataclass(frozen=True, slots=True)
class HotRoute(Generic[B]):
    """One route served here: its method and path (relative to an API prefix), its body
    model, and what it does with the caller's `Api`, the path parameters (as text) and the
    validated body. It must mirror the FastAPI route of the same method and path."""

    method: str
    path: str
    body: type[B]
    serve: Callable[[Api, dict[str, str], B], Awaitable[Response]]


def path_regex(template: str) -> re.Pattern[str]:
    """A path template (`/api/{account_id}/...`, `{id:uuid}`) as a full-match regex."""
    parts: list[str] = []
    end = 0
    for parameter in _PARAMETER.finditer(template):
        parts.append(re.escape(template[end : parameter.start()]))
        name, convertor = parameter.groups()
        parts.append(f"(?P<{name}>{_CONVERTOR_REGEX[convertor]})")
        end = parameter.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts))


def _is_json(scope: Scope) -> bool:
    """`application/json`, bare or with a charset: FastAPI parses such a body as JSON
    (the rarer JSON types it also reads, `+json` and other parameters, go to it)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type, _, parameters = value.partition(b";")
            return media_type.strip().lower() == b"application/json" and (
                not parameters.strip() or parameters.strip().lower().startswith(b"charset=")
            )
    return False


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages received, and the whole body (None if the client went first)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` for the FastAPI route: what was read already, then the rest."""
    pending = deque(messages)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


class HotRoutes:
    """ASGI middleware serving `routes` under each of `prefixes`; every other request
    goes on to `app` untouched. Innermost of the app's own middleware."""

    def __init__(
        self, app: ASGIApp, routes: Sequence[HotRoute[Any]], prefixes: Sequence[str]
    ) -> None:
        self.app = app
        self._routes: dict[str, list[tuple[re.Pattern[str], HotRoute[Any]]]] = {}
        for route in routes:
            for prefix in prefixes:
                self._routes.setdefault(route.method, []).append(
                    (path_regex(prefix + route.path), route)
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidates = self._routes.get(scope["method"]) if scope["type"] == "http" else None
        # A root path (a proxy's prefix) changes what the router matches: leave it to it.
        if candidates and not scope.get("root_path"):
            path: str = scope["path"]
            for regex, route in candidates:
                match = regex.fullmatch(path)
                if match:
                    await self._serve(route, match.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        route: HotRoute[Any],
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        messages, body = await _read_body(receive)
        model = None
        if body and _is_json(scope):
            try:
                model = route.body.model_validate(json.loads(body), from_attributes=True)
            except Exception:  # FastAPI's answer to it, whatever it is, is given below
                model = None
        if model is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        # The request as the route would see it (the router adds the path parameters).
        request = Request({**scope, "path_params": params}, _replaying(messages, receive))
        try:
            api = await api_for(request)
            response = await route.serve(api, params, model)
        except Exception as exc:
            response = await _handled(request, exc)
        await response(request.scope, request.receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The answer the app's exception handlers give to `exc`, picked as Starlette picks them:
    an HTTP error's status code first, then the nearest class in its MRO. The catch-all
    `Exception` handler belongs to the outermost layer, which also logs the error: left to
    it by raising again."""
    handlers: dict[Any, Callable[[Request, Exception], Any]] = request.app.exception_handlers
    keys: list[Any] = [exc.status_code] if isinstance(exc, HTTPException) else []
    keys += type(exc).__mro__[: type(exc).__mro__.index(Exception)]
    for key in keys:
        handler = handlers.get(key)
        if handler is not None:
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
            assert isinstance(response, Response)
            return response
    raise exc
