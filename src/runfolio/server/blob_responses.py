"""How a blob is served, by the API and by the UI alike: streamed from its file, and
never as active content on our origin.

Images (png, jpeg, gif, webp), PDF and plain text or CSV are shown inline; any other
type (HTML, SVG, scripts, archives...) is an attachment, so a browser downloads it
instead of rendering it. Every answer says `nosniff` (the browser keeps to the type
given) and, except PDFs, `Content-Security-Policy: sandbox`: opened directly, even
an inline type runs no script and reaches no cookie of this origin. (Chromium's PDF
viewer does not open in a sandboxed document, and a PDF runs no script of ours.)
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse

from runfolio.schemas.blobs import PREVIEWABLE_TYPES, Blob, media_type

# Only this site's pages may frame a blob (the file renderer's PDF and text previews).
FRAME_ANCESTORS = "frame-ancestors 'self'"
FRAMING = {"X-Frame-Options": "SAMEORIGIN"}  # the same, for browsers before CSP 2
SANDBOX = (
    f"sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; {FRAME_ANCESTORS}"
)
# The bytes of a hash never change; who may read them can, so caches stay private and short.
CACHE = "private, max-age=300"


def is_inline(content_type: str) -> bool:
    """Whether a blob of this type may be shown by the browser (else: download only)."""
    return media_type(content_type) in PREVIEWABLE_TYPES


def blob_response(blob: Blob, path: Path) -> FileResponse:
    """The blob's bytes, streamed from `path` in chunks, with the headers above."""
    kind = media_type(blob.content_type)
    inline = kind in PREVIEWABLE_TYPES
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": CACHE, **FRAMING}
    headers["Content-Security-Policy"] = FRAME_ANCESTORS if kind == "application/pdf" else SANDBOX
    return FileResponse(
        path,
        headers=headers,
        # Only the media type of an inline one: parameters of an upload are not trusted
        # further than the type (text keeps a charset, which Starlette adds).
        media_type=kind if inline else blob.content_type,
        filename=blob.filename or blob.sha256,
        content_disposition_type="inline" if inline else "attachment",
    )
