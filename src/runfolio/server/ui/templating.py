"""The Jinja environment: templates shipped in the package, autoescaped, with the
renderer helpers, formatters and URL builder the templates use."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from runfolio._version import __version__
from runfolio.server.ui import fmt, render, tables, tags, urls
from runfolio.server.ui.models import ARTIFACT_SORTS, ARTIFACT_TYPES, RUN_STATES, Header

STATIC_DIR = Path(__file__).parent / "static"

# Pages run no inline script (nor eval: charts draw with Vega's expression interpreter);
# images may come from any http(s) host (image artifacts); frames only from this server
# (HTML artifacts, each in a sandboxed frame of its own).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' http: https:; object-src 'none'; frame-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # frame-ancestors says the same; this is for browsers that predate it (clickjacking).
    "X-Frame-Options": "DENY",
}

SORT_LABELS = {
    "UPDATED_DESC": "Last updated",
    "CREATED_DESC": "First created",
    "KEY_ASC": "Key A–Z",
    "KEY_DESC": "Key Z–A",
}


@cache
def _asset_version() -> str:
    """A short hash of the static files, so browsers refetch them after an upgrade."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _static(path: str) -> str:
    return f"{urls.static(path)}?v={_asset_version()}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("runfolio.server.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship in the package: no need to stat each one (every include in
        # a loop: hundreds on a run page) to see whether it changed.
        auto_reload=False,
    )
    env.globals.update(
        url=urls,
        static=_static,
        markdown=render.markdown,
        markdown_excerpt=render.markdown_excerpt,
        parse_link=render.parse_link,
        image_src=render.image_src,
        file_view=render.file_view,
        file_size=render.file_size,
        progress_value=render.progress_value,
        percent=render.percent,
        pretty_json=render.pretty_json,
        stored_json=render.stored_json,
        table_view=tables.table_view,
        time_tag=tags.time_tag,
        state_tag=tags.state_tag,
        graph_row=tags.graph_row,
        is_finished=fmt.is_finished,
        artifact_types=ARTIFACT_TYPES,
        artifact_sorts=ARTIFACT_SORTS,
        sort_labels=SORT_LABELS,
        run_states=RUN_STATES,
        version=__version__,
    )
    env.filters.update(
        exact=fmt.exact,
        iso=fmt.iso,
        relative=fmt.relative,
        duration=fmt.duration,
        state_class=tags.state_class,
        thousands=lambda n: f"{n:,}",
    )
    return env


env = _environment()


def page(
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    nav: str = "",
    json_url: str | None = None,
    header: Header | None = None,
) -> HTMLResponse:
    """Render a page template with the security headers every page carries.

    `nav` marks the current section; `json_url` is the page's JSON twin; `header`
    the account controls (None: the header shows none).
    """
    html = env.get_template(template).render(
        nav=nav, json_url=json_url, header=header, now=dt.datetime.now(dt.UTC), **context
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
