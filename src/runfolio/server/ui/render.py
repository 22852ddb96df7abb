"""Turning artifact data into safe display values: one helper per artifact type.

Nothing rendered is trusted. Markdown is rendered on the server and then
sanitised (no script, no event handlers, no iframes, only http/https or
relative URLs). Links and image sources go through `safe_url`. Tables live in
`runfolio.server.ui.tables`. The templates in `templates/_renderers/` call these.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from runfolio.schemas.artifacts import check_data_for_type
from runfolio.schemas.blobs import (
    BLOB_SCHEME,
    IMAGE_TYPES,
    TEXT_TYPES,
    media_type,
    referenced_sha256,
)
from runfolio.server.ui import urls

Kind = Literal["markdown", "link", "table", "image", "progress", "chart", "html", "file", "json"]
LINK_TYPE: Kind = "link"  # not a stored type: a markdown artifact whose data is one link

_md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_BLOCK_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_INLINE_TAGS = {"a", "b", "code", "del", "em", "i", "s", "strong", "sub", "sup"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
    "abbr": {"title"},
}
_SCHEMES = {"http", "https"}
_ALIGN = re.compile(r"text-align:\s*(left|right|center)\s*;?")


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        # An uploaded file (`runfolio-blob:<sha256>` or its API URL) is shown from the
        # workspace of the page, which serves it only if it holds it.
        sha256 = referenced_sha256(value)
        if sha256 is not None:
            return urls.blob(sha256)
        return safe_url(value, relative=attribute == "href")
    if attribute == "style":  # only the column alignment markdown tables write
        match = _ALIGN.fullmatch(value.strip())
        return f"text-align:{match.group(1)}" if match else None
    return value


_full = nh3.Cleaner(
    tags=_BLOCK_TAGS,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript"},
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    # runfolio-blob: reaches the filter, which turns it into this site's URL of the file.
    url_schemes=_SCHEMES | {BLOB_SCHEME},
    link_rel="noopener noreferrer nofollow",
)
_inline = nh3.Cleaner(
    tags=_INLINE_TAGS,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript"},
    attributes={"a": {"href"}},
    attribute_filter=_attribute_filter,
    url_schemes=_SCHEMES,
    link_rel="noopener noreferrer nofollow",
)

_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def safe_url(url: Any, *, relative: bool = True) -> str | None:
    """`url` if it is http(s) (or, when `relative`, a relative URL); else None.

    URLs carrying whitespace or control characters are refused, since browsers
    strip them and `java\\tscript:` would otherwise slip through.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme:
        return url if parts.scheme.lower() in _SCHEMES and parts.netloc else None
    return url if relative else None


# Rendering and sanitising markdown costs about a millisecond per kilobyte, and pages
# show the same texts again and again (a run page's 50 cards, every reload, the list's
# descriptions): texts up to CACHED_MARKDOWN_CHARS are kept rendered, the most recently
# shown CACHED_MARKDOWN of them (a few MB). The result depends on the text alone.
CACHED_MARKDOWN = 1024
CACHED_MARKDOWN_CHARS = 16_384


def _render_markdown(text: str) -> Markup:
    return Markup(_full.clean(_md.render(text)))


_cached_markdown = lru_cache(maxsize=CACHED_MARKDOWN)(_render_markdown)


def markdown(text: Any) -> Markup:
    """Markdown rendered to sanitised HTML."""
    if not isinstance(text, str) or not text:
        return Markup("")
    if len(text) > CACHED_MARKDOWN_CHARS:
        return _render_markdown(text)
    return _cached_markdown(text)


@lru_cache(maxsize=CACHED_MARKDOWN)
def _inline_markdown(cut: str) -> str:
    return " ".join(_inline.clean(_md.render(cut)).split())


def markdown_excerpt(text: str | None, limit: int = 240) -> Markup:
    """The start of a description as one line of inline HTML (headings become plain text)."""
    if not text:
        return Markup("")
    # The cut text is short, so every excerpt may be kept rendered.
    return Markup(_inline_markdown(text[:limit]) + ("…" if len(text) > limit else ""))


@dataclass(frozen=True)
class Link:
    text: str
    url: str
    href: str | None  # None when the URL is not safe to make clickable


# `[text](url)` as the SDK writes it (no escaping): neither part may contain "](".
_LINK = re.compile(r"\[(?P<text>(?:(?!\]\().)*)\]\((?P<url>(?:(?!\]\()[^\n])*)\)", re.DOTALL)

# The same test on the data's stored JSON text (what the store writes: `json.dumps`
# with `ensure_ascii=False`), so SQL can filter on it: `parse_link(data)` is a link
# exactly when the text matches. Brackets and parentheses are never escaped there;
# whitespace that `str.strip` removes is, as \t \n \r \f and \u000b \u001c-\u001f.
_WS = r"(?:\s|\\[tnrf]|\\u000b|\\u001[c-f])"
_TEXT = r"(?:[^\\\]]|\\u[0-9a-f]{4}|\\[^u]|\](?!\())*"  # one character each; no "]("
_URL = r"(?:[^\\\]]|\\u[0-9a-f]{4}|\\[^un]|\](?!\())*"  # nor a newline
LINK_JSON_PATTERN = rf'\A"{_WS}*\[{_TEXT}\]\({_URL}\){_WS}*"\Z'
LINK_JSON_LIKE = '"%[%](%)%"'  # a cheaper test every match passes


def parse_link(data: Any) -> Link | None:
    """The link of a markdown artifact whose whole data is one `[text](url)`, else None."""
    if not isinstance(data, str):
        return None
    match = _LINK.fullmatch(data.strip())
    if match is None:
        return None
    url = match.group("url")
    text = match.group("text") or url
    return Link(text=text, url=url, href=safe_url(url))


def image_src(data: Any) -> str | None:
    """An image URL that may be shown: http or https, or an uploaded image (then this
    site's URL of it in the workspace of the page)."""
    sha256 = referenced_sha256(data)
    if sha256 is not None:
        return urls.blob(sha256)
    return safe_url(data, relative=False)


@dataclass(frozen=True)
class FileView:
    """A file artifact as its renderer shows it."""

    sha256: str
    filename: str
    content_type: str
    size: int | None
    preview: Literal["image", "pdf", "text", "none"]


def file_view(data: Any) -> FileView | None:
    """The file a file artifact's data names (`{"sha256", "filename", ...}`), else None.

    The preview follows the stored type: images, PDFs and text are shown, anything
    else is offered for download only (the blob is served as an attachment anyway)."""
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        return None
    sha256 = data["sha256"]
    if referenced_sha256(f"{BLOB_SCHEME}:{sha256}") is None:
        return None
    content_type = data.get("content_type")
    kind = media_type(content_type) if isinstance(content_type, str) else ""
    preview: Literal["image", "pdf", "text", "none"] = "none"
    if kind in IMAGE_TYPES:
        preview = "image"
    elif kind == "application/pdf":
        preview = "pdf"
    elif kind in TEXT_TYPES:
        preview = "text"
    name = data.get("filename")
    size = data.get("size")
    return FileView(
        sha256=sha256,
        filename=name if isinstance(name, str) and name else sha256[:12],
        content_type=content_type if isinstance(content_type, str) else "",
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        preview=preview,
    )


def file_size(size: int | None) -> str:
    """Bytes for people: 512 B, 4.2 KiB, 48.0 MiB."""
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def progress_value(data: Any) -> float | None:
    """A progress artifact's value, clamped to [0, 100]; None when it is not a number."""
    if isinstance(data, bool) or not isinstance(data, int | float) or math.isnan(data):
        return None
    return min(max(float(data), 0.0), 100.0)


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def stored_json(data: Any) -> str:
    """Data exactly as stored, formatted for a <pre> block (strings keep their quotes)."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def misfit_notice(type_: str | None, data: Any) -> str | None:
    """Why `data` is shown as stored instead of by its type's renderer; None when it fits.

    The store keeps any JSON for any type, as the protocol's server does.
    """
    try:
        check_data_for_type(type_, data)
    except ValueError:
        return f"This data does not fit the type '{type_}'; shown as stored."
    return None


def pretty_json(data: Any) -> str:
    """Data of unknown or generic artifacts, for a <pre> block."""
    if isinstance(data, str):
        text = data
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, str):
            return data
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def kind_of(type_: str | None, data: Any) -> Kind:
    """Which renderer shows an artifact. A markdown artifact that is a single link is a link."""
    if type_ == "markdown":
        return "link" if parse_link(data) else "markdown"
    match type_:  # (a match narrows the type to these literals; `in` would not)
        case "table" | "image" | "progress" | "chart" | "html":
            return type_
        case "file":
            return "file" if file_view(data) else "json"
    return "json"
