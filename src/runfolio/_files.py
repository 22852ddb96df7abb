"""File artifacts: any file, uploaded to the blob store, published as type "file".

The stored data is an object naming the blob:

    {"sha256": "...", "filename": "report.pdf", "content_type": "application/pdf",
     "size": 48213, "url": "/api/blobs/<sha256>"}

`url` is the blob's API URL in the artifact's workspace (relative to the server).
"file" is a runfolio type; other clients of the protocol show it as JSON.
"""

from __future__ import annotations

import uuid
from os import PathLike
from typing import Any, ClassVar

from runfolio import _uploads
from runfolio._artifacts import Artifact, _client, _to_thread
from runfolio._dispatch import dual as _dual
from runfolio.schemas.blobs import FILE_TYPE

FileSource = str | bytes | PathLike[str] | Any


class _FileArtifact(Artifact):
    _default_type: ClassVar[str | None] = FILE_TYPE

    def format(self) -> Any:
        return self.data  # the blob's object, as it is


def _file_data(
    source: FileSource, filename: str | None, content_type: str | None
) -> dict[str, Any]:
    blob, name, kind = _uploads.upload(
        _client(), source, content_type=content_type, filename=filename, text_is_path=True
    )
    return {
        "sha256": blob.sha256,
        "filename": name,
        "content_type": kind,
        "size": blob.size,
        "url": blob.url,
    }


async def acreate_file_artifact(
    path_or_bytes: FileSource,
    key: str | None = None,
    description: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
) -> uuid.UUID:
    """Publish a file: a path (str or `pathlib.Path`), bytes or an open binary file,
    streamed to the blob store. `filename` and `content_type` default to the path's
    name and what it (or the first bytes) says. Returns the artifact's id."""
    data = await _to_thread(_file_data, path_or_bytes, filename, content_type)
    return (await _FileArtifact(key=key, description=description, data=data).acreate()).id


@_dual(acreate_file_artifact)
def create_file_artifact(
    path_or_bytes: FileSource,
    key: str | None = None,
    description: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
) -> uuid.UUID:
    """Publish a file: a path (str or `pathlib.Path`), bytes or an open binary file,
    streamed to the blob store. `filename` and `content_type` default to the path's
    name and what it (or the first bytes) says. Returns the artifact's id."""
    data = _file_data(path_or_bytes, filename, content_type)
    return _FileArtifact(key=key, description=description, data=data)._create().id
