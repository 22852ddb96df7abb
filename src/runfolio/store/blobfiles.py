"""The blob store's files: content-addressed, written once, streamed in and out.

A blob is kept at `<root>/<aa>/<bb>/<sha256>` (the first two pairs of hex digits
fan the files out, so no folder grows past a few thousand entries). An upload is
written to a temporary file under `<root>/tmp/` while it is hashed, made durable
(fsync) and then renamed into place: a reader never sees half a file, and the same
bytes uploaded twice are stored once. Which workspace may read a blob is not
decided here but by the `blobs` table (`runfolio.store.blobs`).

No function here holds a whole file in memory: everything moves in `CHUNK_BYTES`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runfolio.errors import TooLarge
from runfolio.schemas.blobs import SHA256_PATTERN

CHUNK_BYTES = 1024 * 1024
_SHA256 = re.compile(SHA256_PATTERN)
_TMP = "tmp"


def is_sha256(value: str) -> bool:
    """Whether `value` is a SHA-256 as the store names files: 64 lowercase hex digits."""
    return bool(_SHA256.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Staged:
    """An upload written and hashed, not yet in place (`BlobFiles.commit` puts it there)."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    path: Path
    size: int
    modified: float  # seconds since the epoch


class Stager:
    """Writes one upload to a temporary file, hashing and counting as it goes.

    Past `limit` bytes it raises `TooLarge` and deletes what it wrote."""

    def __init__(self, tmp_dir: Path, limit: int) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self._file = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()
        self._limit = limit
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._limit:
            self.abort()
            raise TooLarge(self._limit)
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> Staged:
        """Flush the file to disk (a blob is durable before anything refers to it)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return Staged(self._path, self._hash.hexdigest(), self.size)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class BlobFiles:
    """The blob files under one folder (RUNFOLIO_BLOB_DIR)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def stager(self) -> Stager:
        return Stager(self.root / _TMP, self.max_bytes)

    def stage(self, source: BinaryIO) -> Staged:
        """Copy a readable binary stream into a staged file, chunk by chunk."""
        stager = self.stager()
        try:
            while chunk := source.read(CHUNK_BYTES):
                stager.write(chunk)
        except BaseException:
            stager.abort()
            raise
        return stager.finish()

    def commit(self, staged: Staged) -> Path:
        """Put a staged upload in place; when those bytes are already stored, the copy is
        dropped and the stored file's time renewed (so a collection of files no row refers
        to yet, `runfolio.store.blobs.delete_unreferenced`, leaves it alone a while)."""
        final = self.path_of(staged.sha256)
        try:
            os.utime(final)
        except FileNotFoundError:
            pass  # new bytes (or removed by a collection meanwhile): put these in place
        else:
            staged.path.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)
        _fsync_dir(final.parent)
        return final

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def remove(self, sha256: str) -> int:
        """Delete a blob's file; returns the bytes freed (0 when it was not there)."""
        path = self.path_of(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def files(self) -> Iterator[StoredFile]:
        """Every stored blob file (not the staged ones)."""
        if not self.root.is_dir():
            return
        for first in self.root.iterdir():
            if first.name == _TMP or not first.is_dir():
                continue
            for second in first.iterdir():
                for path in second.iterdir() if second.is_dir() else ():
                    if is_sha256(path.name):
                        info = path.stat()
                        yield StoredFile(path.name, path, info.st_size, info.st_mtime)

    def remove_stale_staging(self, older_than: float) -> int:
        """Delete staged files left by uploads that died (older than `older_than`,
        seconds since the epoch); returns the bytes freed."""
        freed = 0
        tmp = self.root / _TMP
        for path in tmp.iterdir() if tmp.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                info = path.stat()
                if info.st_mtime < older_than:
                    path.unlink()
                    freed += info.st_size
        return freed


def read_chunks(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """A file's bytes in chunks (the first `limit` bytes only, when given)."""
    left = limit
    with path.open("rb") as file:
        while left is None or left > 0:
            chunk = file.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the folder's entry is on disk too (POSIX).
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
