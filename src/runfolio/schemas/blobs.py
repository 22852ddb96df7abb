"""Uploaded blobs (images and files): what an upload answers, and how artifacts refer to them.

An artifact refers to a blob by the relative API URL of the blob in its workspace
(`/api/blobs/<sha256>`, or `/api/accounts/<a>/workspaces/<w>/blobs/<sha256>`),
which API clients follow against the server's origin; markdown may also write
`runfolio-blob:<sha256>`. Either way the blob is only readable in the workspace
that holds a row for it: a hash alone opens nothing.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, Field

#: The markdown scheme that names a blob of the artifact's own workspace.
BLOB_SCHEME = "runfolio-blob"
FILE_TYPE = "file"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

Sha256 = Annotated[
    str,
    Field(pattern=SHA256_PATTERN, description="SHA-256 of the bytes, 64 lowercase hex digits."),
]

# The types a browser may show inline from our origin; everything else is an attachment.
PREVIEWABLE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
    }
)
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
IMAGE_TYPES = frozenset(t for t in PREVIEWABLE_TYPES if t.startswith("image/"))
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE = 200  # the column's size
MAX_FILENAME = 500

# A content type as RFC 9110 spells one: type/subtype and optional parameters.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(\"[^\"]*\"|{_TOKEN}))*")
_BLOB_PATH = re.compile(r"/blobs/(?P<sha>[0-9a-f]{64})")


class Blob(BaseModel):
    """An uploaded blob as its workspace sees it."""

    sha256: Sha256
    size: int = Field(description="Bytes.")
    content_type: str
    filename: str | None = None
    url: str = Field(description="Where to read it: the API URL of the blob in its workspace.")


def media_type(content_type: str) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return content_type.split(";", 1)[0].strip().lower()


def check_content_type(value: str | None) -> str:
    """A content type fit to store (default `application/octet-stream`); ValueError else."""
    if value is None or not value.strip():
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if len(value) > MAX_CONTENT_TYPE or not _CONTENT_TYPE.fullmatch(value):
        raise ValueError("must be a media type like image/png (at most 200 characters)")
    return value


def check_filename(value: str | None) -> str | None:
    """The base name kept for a download (no folders, no control characters)."""
    if value is None:
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        return None
    if len(name) > MAX_FILENAME or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError(f"must be a file name of at most {MAX_FILENAME} characters")
    return name


def blob_path(account: str, workspace: str, sha256: str, *, default: bool) -> str:
    """The relative API URL of a blob in a workspace (`default`: the `/api` one)."""
    if default:
        return f"/api/blobs/{sha256}"
    a, w = quote(account, safe=""), quote(workspace, safe="")
    return f"/api/accounts/{a}/workspaces/{w}/blobs/{sha256}"


def referenced_sha256(url: object) -> str | None:
    """The blob a reference names: `runfolio-blob:<sha256>` or a relative URL whose path
    ends in `/blobs/<sha256>` (what uploads answer); None for anything else."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith(f"{BLOB_SCHEME}:"):
        sha = url[len(BLOB_SCHEME) + 1 :]
        return sha if re.fullmatch(r"[0-9a-f]{64}", sha) else None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    match = _BLOB_PATH.search(parts.path)
    return match.group("sha") if match and match.end() == len(parts.path) else None
