"""What the SDK can upload to the blob store, and how each kind becomes a byte stream.

Accepted: bytes (and bytearray, memoryview), a path (`pathlib.Path` or any
`os.PathLike`; for files also a `str`), an open binary file, a PIL image (anything
with `.save(fp, format=...)`) and a matplotlib figure (anything with
`.savefig(fp, format=...)`). PIL and matplotlib are never imported: an object is
recognised by those methods. Files are streamed from disk; a rendered image is
held in one buffer (its PNG).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from runfolio.client import RunfolioClient
    from runfolio.schemas.blobs import Blob

# Leading bytes of the types a browser shows inline, for bytes that come without a name.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_SNIFF = 16


def sniff(head: bytes) -> str | None:
    """The type the first bytes announce (images and PDF only), else None."""
    for magic, offset, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if kind == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return kind
    return None


def _guess(name: str | None) -> str | None:
    if not name:
        return None
    # Imported at the first named upload: it costs a few ms, and every script that
    # publishes an artifact loads this module.
    import mimetypes

    kind, _ = mimetypes.guess_type(name, strict=False)
    return kind


@contextmanager
def opened(source: Any, *, text_is_path: bool) -> Iterator[tuple[BinaryIO, str | None, str | None]]:
    """The source as a readable binary stream, with the content type and file name it
    suggests. `text_is_path`: a `str` names a file (else it is refused here)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        yield io.BytesIO(data), sniff(data[:_SNIFF]), None
    elif isinstance(source, os.PathLike) or (text_is_path and isinstance(source, str)):
        path = Path(os.fspath(source)).expanduser()
        if not path.is_file():
            what = "a folder" if path.is_dir() else "no file"
            raise FileNotFoundError(f"Cannot upload {str(path)!r}: there is {what} at that path.")
        with path.open("rb") as file:
            head = file.read(_SNIFF)
            file.seek(0)
            yield file, _guess(path.name) or sniff(head), path.name
    elif hasattr(source, "savefig"):  # a matplotlib figure
        buffer = io.BytesIO()
        source.savefig(buffer, format="png")
        buffer.seek(0)
        yield buffer, "image/png", None
    elif hasattr(source, "save") and callable(source.save):  # a PIL image
        buffer = io.BytesIO()
        source.save(buffer, format="PNG")
        buffer.seek(0)
        yield buffer, "image/png", None
    elif hasattr(source, "read"):  # an open binary file
        name = getattr(source, "name", None)
        yield source, _guess(name if isinstance(name, str) else None), None
    else:
        raise TypeError(
            f"Cannot upload a {type(source).__name__}: give bytes, a pathlib.Path, an open "
            "binary file, a PIL image or a matplotlib figure."
        )


def upload(
    client: RunfolioClient,
    source: Any,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    text_is_path: bool = True,
    image: bool = False,
) -> tuple[Blob, str | None, str]:
    """Upload `source` through `client`; `image`: refuse what a browser cannot show as one.

    Returns the blob and the file name and content type sent with it (the blob keeps
    those of the first upload of the same bytes to the workspace)."""
    with opened(source, text_is_path=text_is_path) as (stream, guessed_type, guessed_name):
        kind = content_type or guessed_type or "application/octet-stream"
        if image and kind.split(";")[0].strip().lower() not in IMAGE_TYPES:
            raise ValueError(
                f"An image artifact must be a PNG, JPEG, GIF or WebP image; this is {kind}. "
                "Publish other files with create_file_artifact."
            )
        name = filename or guessed_name
        return client.upload_blob(stream, kind, name), name, kind
