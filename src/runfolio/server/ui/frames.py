"""An HTML artifact's document, served on its own for the sandboxed frame that shows it.

    GET /artifacts/{id}/frame   the stored HTML (READ in the workspace the pages show)

The document is the author's, scripts included, so it never runs as this site: the
`sandbox` CSP directive gives it an opaque origin even when opened in a tab of its own
(no cookies, storage or same-origin requests; no popups, forms or top navigation), it
may load nothing from the network (inline scripts, styles and data: images only), and
only this site's pages may frame it.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from runfolio.errors import NotFound
from runfolio.ops import Context
from runfolio.server.ui import stored, urls
from runfolio.server.ui.site import PageApiDep
from runfolio.store import views

router = APIRouter(include_in_schema=False)

FRAME_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; media-src data: blob:; font-src data:; "
    "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
FRAME_HEADERS = {
    "Content-Security-Policy": FRAME_CSP,
    "X-Content-Type-Options": "nosniff",
    # Framed by this site's pages only (the rest of the site: DENY); for older browsers.
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    # The document may be private to its workspace: shared caches must not keep it.
    "Cache-Control": "private, no-cache",
}


def html_document(ctx: Context, artifact_id: uuid.UUID) -> str:
    """An HTML artifact's document (`NotFound` when there is none, or it is not HTML)."""
    with ctx.reading() as (conn, ws):
        try:
            artifact, text = views.read_version(conn, ws, artifact_id)
        except NotFound:
            raise NotFound(f"There is no artifact with the id {artifact_id}.") from None
    shown = stored.decode(artifact.type, text)
    if shown.kind != "html" or not isinstance(shown.value, str):
        raise NotFound("This artifact is not an HTML document.")
    return shown.value


@router.get(urls.ARTIFACT_FRAME)
async def artifact_frame(artifact_id: uuid.UUID, api: PageApiDep) -> Response:
    """The document of an HTML artifact, for its sandboxed frame."""
    document = await api.read(html_document, artifact_id)
    return HTMLResponse(document, headers=FRAME_HEADERS)
