"""The web UI: server-rendered pages at `/`, their JSON twins under `/api/ui`,
static files under `/static`.

    pages.py      HTML routes, one template per page (templates/)
    api.py        the JSON twins and the live endpoint
    data.py       one data function per page, shared by both
    models.py     what each page shows
    render.py     markdown, links, images, progress; tables.py: tables
    graph.py      the run graph layout
    templating.py the Jinja environment; urls.py: every URL; params.py: query parameters
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from runfolio.server.ui import api, pages, urls
from runfolio.server.ui.templating import STATIC_DIR

__all__ = ["mount_ui"]


def mount_ui(app: FastAPI) -> None:
    """Add the UI to an app whose API is mounted under /api."""
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount(urls.STATIC, StaticFiles(directory=STATIC_DIR), name="ui-static")

    previous = app.exception_handlers[HTTPException]

    async def _not_found_as_page(request: Request, exc: Exception) -> Response:
        # Unknown addresses outside the API get the HTML 404 page; the API keeps its JSON.
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if exc.status_code == 404 and not path.startswith("/api") and request.method == "GET":
            return pages.not_found_page()
        response = previous(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(HTTPException, _not_found_as_page)
