"""The web UI: server-rendered pages at `/`, their JSON twins under `/api/ui`,
static files under `/static`.

    pages.py      every page, declared once: path, template, one view
    site.py       serves each declared page as HTML and as its JSON twin
    data.py       one data function per page (run in a read thread)
    models.py     what each page shows
    stored.py     artifact data as stored: decoded safely, judged against its type
    render.py     markdown, links, images, progress; tables.py: tables
    graph.py      the run graph layout
    templating.py the Jinja environment; urls.py: every URL; params.py: query parameters
    account.py    sign in, sign out, choose the workspace (the UI's state-changing forms)
    workspace.py  which workspace the pages show; throttle.py: failed sign-in limits
    csrf.py       the forms' CSRF tokens; cookies.py: the UI's cookies; forms.py: form bodies
    stream.py     what changes on an open page, as Server-Sent Events (server/live.py)
    keys.py       the workspace's API keys page and forms; members.py: its members page
    webhooks.py   the workspace's webhooks page, its forms and delivery log
    history.py    a key's history: compare versions, trends, downloads (history_pages.py)
    frames.py     an HTML artifact's document, for the sandboxed frame that shows it
    blobs.py      uploaded files of the workspace the pages show, and text previews
    rights.py     who may manage keys and members; admin_forms.py: those forms' checks
    deletes.py    delete a version or a key, after a confirmation page (guarded_forms.py)
    retention_page.py  the workspace's retention policies page and its forms
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from runfolio.server.errors import ERROR_RESPONSES, answer_pages_not_found
from runfolio.server.ui import (
    account,
    blobs,
    deletes,
    frames,
    keys,
    members,
    retention_page,
    site,
    stream,
    urls,
    webhooks,
    workspace,
)
from runfolio.server.ui.history_pages import site as history_pages
from runfolio.server.ui.pages import site as pages
from runfolio.server.ui.templating import STATIC_DIR

__all__ = ["mount_ui"]


def mount_ui(app: FastAPI) -> None:
    """Add the UI to an app whose API is mounted under /api."""
    app.include_router(pages.json, responses=ERROR_RESPONSES)
    app.include_router(history_pages.json, responses=ERROR_RESPONSES)
    app.include_router(history_pages.html)
    app.include_router(stream.router)
    app.include_router(pages.html)
    app.include_router(blobs.router)
    app.include_router(account.router)
    app.include_router(keys.router)
    app.include_router(members.router)
    app.include_router(retention_page.router)
    app.include_router(deletes.router)
    app.include_router(webhooks.router)
    app.include_router(frames.router)
    app.mount(urls.STATIC, StaticFiles(directory=STATIC_DIR), name="ui-static")
    # Unknown ids and addresses outside the API get the HTML 404 page; the API keeps its JSON.
    answer_pages_not_found(app, site.not_found_page)
    # Pages (not their JSON twins) send whoever is not signed in to sign in.
    app.state.sign_in_redirect = account.sign_in_redirect
    app.add_exception_handler(workspace.NoWorkspace, site.no_workspace_page)
    app.add_exception_handler(site.ForbiddenPage, site.forbidden_page)
