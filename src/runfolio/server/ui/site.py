"""Declaring each page once: one view function, served as HTML and as its JSON twin.

    site = Site()

    @site.page(urls.RUN, template="run.html", nav="runs", missing=...)
    async def run(api: PageApi, run_id: uuid.UUID, apage: str | None = None) -> RunPage:
        return await api.read(data.run_page, run_id, apage=params.page_number(apage))

adds `GET /runs/{run_id}` (the template rendered with the model as `p`) and
`GET /api/ui/runs/{run_id}` (the model as JSON), with the view's own parameters
as FastAPI's. `api.read(fn, ...)` runs a data function with the caller's
operations context in a worker thread: the event loop waits neither on the
database nor on a page's work (decoding tables, laying out a run graph), nor
on rendering, which runs in a worker thread too.

A view's `NotFound` answers 404 through the app's one not-found handler: JSON
`{"detail": ...}` on the twin, the 404 page on the HTML route (with the page's
own `missing` message).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar, get_type_hints
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from runfolio.errors import Forbidden, NotFound, Unauthenticated
from runfolio.ops import Context
from runfolio.ops.access import OPEN, Principal
from runfolio.server.auth import SESSION_COOKIE, SignedIn
from runfolio.server.deps import api_as, authenticator
from runfolio.server.responses import model_response
from runfolio.server.ui import cookies, csrf, urls, workspace
from runfolio.server.ui.models import Header
from runfolio.server.ui.rights import manages
from runfolio.server.ui.templating import page
from runfolio.store.workspaces import Workspace

P = ParamSpec("P")
T = TypeVar("T")
View = Callable[..., Awaitable[BaseModel]]
V = TypeVar("V", bound=View)
Missing = Callable[..., str]

NOTHING_HERE = "There is nothing at this address."
# What may stand unescaped in a Link header's URL (the rest is percent-encoded).
_URL_SAFE = "/?&=%:@!$'()*+,;-._~"


@dataclass(frozen=True, slots=True)
class PageApi:
    """What a view gets: the caller's operations context, and a way to run a data
    function with it off the event loop.

    Not `Api.read`: that runs SQLite reads inline on the loop, right for the API's
    small reads, while a page does more (see `runfolio.server.concurrency`).
    """

    ctx: Context
    # The page header's account controls, and whether its CSRF token is new (the
    # response then sets the double-submit cookie the token must match).
    header: Header | None = None
    new_csrf_cookie: bool = False
    # Who looks, and at which workspace (the account pages decide from these).
    principal: Principal = OPEN
    workspace: Workspace | None = None

    async def read(
        self, fn: Callable[Concatenate[Context, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(ctx, *args, **kwargs)` in a worker thread."""
        return await run_in_threadpool(fn, self.ctx, *args, **kwargs)


async def ui_principal(request: Request) -> tuple[Principal, SignedIn | None]:
    """Who looks at a page: the signed-in user (session cookie), else a script's
    Authorization header, else anyone on an open server."""
    auth = authenticator(request)
    signed_in = await auth.session(request.cookies.get(SESSION_COOKIE))
    if signed_in is not None:
        return signed_in.principal, signed_in
    if not await auth.required():
        return OPEN, None
    header = request.headers.get("authorization")
    if header is not None:
        return await auth.from_header(header), None
    raise Unauthenticated("Not signed in.")


async def page_api(request: Request) -> PageApi:
    """The caller's context in the workspace the pages show (`workspace.choose`)."""
    principal, signed_in = await ui_principal(request)
    state = request.app.state
    found = await state.gate.read(workspace.readable, state.engine, principal)
    current = workspace.choose(found, request.cookies.get(cookies.WORKSPACE_COOKIE))
    token, new_token = csrf.page_token(request, signed_in)
    header = Header(
        auth_on=signed_in is not None or await authenticator(request).required(),
        user=signed_in.principal.name if signed_in else None,
        csrf_token=token,
        workspaces=[w.path for w in found],
        current=current.path if current else None,
        manages=signed_in is not None and current is not None and manages(principal, current.id),
    )
    if current is None:
        raise workspace.NoWorkspace(header)
    ctx = api_as(request, principal, (current.account, current.name)).ctx
    return PageApi(ctx, header, new_token, principal, current)


PageApiDep = Annotated[PageApi, Depends(page_api)]


def _nothing_here(**_: Any) -> str:
    return NOTHING_HERE


def not_found_page(request: Request, message: str | None = None) -> Response:
    """The 404 page (for every address outside /api that finds nothing)."""
    return page("404.html", {"message": message or NOTHING_HERE}, status_code=404)


async def no_workspace_page(request: Request, exc: Exception) -> Response:
    """403 for a caller who may read no workspace: a page (with the header, so they can
    sign out), or `{"detail": ...}` under /api."""
    assert isinstance(exc, workspace.NoWorkspace)
    if request.url.path.startswith(urls.API_UI):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    context = {"title": "No workspace", "message": str(exc)}
    return page("message.html", context, status_code=403, header=exc.header)


class ForbiddenPage(Forbidden):
    """A page the caller may not see: 403, with the header so they can go elsewhere."""

    def __init__(self, title: str, message: str, header: Header | None) -> None:
        super().__init__(message)
        self.title = title
        self.header = header


async def forbidden_page(request: Request, exc: Exception) -> Response:
    """403 for a `ForbiddenPage`: the message page, or `{"detail": ...}` under /api."""
    assert isinstance(exc, ForbiddenPage)
    if request.url.path.startswith(urls.API_UI):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    context = {"title": exc.title, "message": str(exc)}
    return page("message.html", context, status_code=403, header=exc.header)


def _view_parameters(view: View) -> tuple[list[inspect.Parameter], type[BaseModel]]:
    """A view's parameters after `api`, annotations resolved, and the model it returns."""
    hints = get_type_hints(view, include_extras=True)
    names = list(inspect.signature(view).parameters.values())
    if not names or hints.get(names[0].name) is not PageApi:
        raise TypeError(f"{view.__name__}: a view takes `api: PageApi` first")
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name]) for p in names[1:]
    ]
    return parameters, hints["return"]


def _endpoint(
    view: View,
    parameters: list[inspect.Parameter],
    respond: Callable[[Request, PageApi, dict[str, Any]], Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """An endpoint whose signature FastAPI reads as the view's own parameters."""

    async def endpoint(request: Request, api: PageApi, **values: Any) -> Response:
        return await respond(request, api, values)

    # `__signature__` is inspect's protocol; typeshed does not declare it on functions.
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter("api", inspect.Parameter.KEYWORD_ONLY, annotation=PageApiDep),
            *parameters,
        ]
    )
    endpoint.__name__ = view.__name__
    endpoint.__doc__ = view.__doc__
    return endpoint


def _twin_url(request: Request) -> str:
    query = request.url.query
    return urls.api(request.url.path + (f"?{query}" if query else ""))


class Site:
    """The UI's routes: `html` (pages, not in the OpenAPI document) and `json`
    (their twins and JSON-only endpoints under /api/ui)."""

    def __init__(self) -> None:
        self.html = APIRouter(include_in_schema=False)
        self.json = APIRouter(prefix=urls.API_UI, tags=["ui"])

    def page(
        self,
        path: str,
        *,
        template: str,
        nav: str,
        missing: Missing = _nothing_here,
        aliases: tuple[str, ...] = (),
    ) -> Callable[[V], V]:
        """Serve `view` at `path` (and `aliases`) as `template`, and as JSON under /api/ui.

        `missing(**parameters)` words the 404 page when the view raises `NotFound`.
        """

        def register(view: V) -> V:
            parameters, model = _view_parameters(view)

            async def html(request: Request, api: PageApi, values: dict[str, Any]) -> Response:
                try:
                    found = await view(api, **values)
                except NotFound:
                    raise NotFound(missing(**values)) from None
                twin = _twin_url(request)
                response = await run_in_threadpool(
                    page, template, {"p": found}, nav=nav, json_url=twin, header=api.header
                )
                if api.new_csrf_cookie and api.header is not None:
                    cookies.set_csrf(response, request, api.header.csrf_token)
                link = quote(twin, safe=_URL_SAFE)
                response.headers["Link"] = f'<{link}>; rel="alternate"; type="application/json"'
                return response

            endpoint = _endpoint(view, parameters, html)
            for route in (*aliases, path):
                self.html.add_api_route(route, endpoint, methods=["GET"])
            self._add_json(path, view, parameters, model)
            return view

        return register

    def data(self, path: str) -> Callable[[V], V]:
        """Serve `view` as JSON only, at `path` under /api/ui."""

        def register(view: V) -> V:
            parameters, model = _view_parameters(view)
            self._add_json(path, view, parameters, model)
            return view

        return register

    def _add_json(
        self, path: str, view: View, parameters: list[inspect.Parameter], model: type[BaseModel]
    ) -> None:
        async def as_json(request: Request, api: PageApi, values: dict[str, Any]) -> Response:
            return await run_in_threadpool(model_response, await view(api, **values))

        endpoint = _endpoint(view, parameters, as_json)
        self.json.add_api_route(path, endpoint, methods=["GET"], response_model=model)
