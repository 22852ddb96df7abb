"""Disk space of the database: what a SQLite file takes, and giving freed pages back.

Deleting rows leaves their pages free inside a SQLite file, reused by later writes but
not returned to the disk. `PRAGMA incremental_vacuum` could return them, but only in a
file made with auto_vacuum=INCREMENTAL before its tables existed; existing files are
compacted by a full `VACUUM`, which rewrites the file (and holds the write lock while
it does, so it is an explicit step: `runfolio gc --vacuum`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from runfolio.store.engine import write


@dataclass(frozen=True, slots=True)
class Vacuumed:
    bytes_before: int
    bytes_after: int


def sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database file of `engine`, or None (another database, or in memory)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:":
        return None
    return Path(name)


def file_bytes(path: Path) -> int:
    """What the database takes on disk: the file and its write-ahead log."""
    total = 0
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            total += part.stat().st_size
    return total


def vacuum(engine: Engine) -> Vacuumed | None:
    """Compact a SQLite file (None for other databases: PostgreSQL's autovacuum does it)."""
    path = sqlite_file(engine)
    if path is None:
        return None
    before = file_bytes(path)
    # Every other writer of this process waits on `write`'s lock meanwhile; VACUUM itself
    # cannot run inside a transaction, so it goes to the driver's connection directly
    # (its implicit transactions are off: see store.engine).
    with write(engine) as conn:
        conn.commit()
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("VACUUM")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Vacuumed(before, file_bytes(path))
