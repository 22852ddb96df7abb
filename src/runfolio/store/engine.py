"""Opening a database: the dialect is chosen here, once.

`open_engine(url)` returns an engine whose schema is migrated to the head
revision. SQLite files run in WAL mode with a busy timeout, so a server and
scripts can share one file; write transactions start with BEGIN IMMEDIATE so
two writers queue instead of failing half-way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from runfolio.store.migrations import HEAD_REVISION, create_fresh, upgrade_to_head

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
# One in-process writer at a time per SQLite engine: threads queue on a lock
# instead of polling SQLite's busy handler (which sleeps in milliseconds).
_write_locks: dict[int, threading.RLock] = {}

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are off).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint (and fsync) the WAL every ~16 MiB instead of every 4 MiB: fewer stalls.
        cursor.execute("PRAGMA wal_autocheckpoint=4000")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("runfolio_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=False)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    return engine


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no alembic_version table yet: a new database
            return None


def open_engine(url: str) -> Engine:
    """The engine for `url`, migrated to the head revision (one per URL per process)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            revision = _current_revision(engine)
            if revision is None and create_fresh(engine):
                pass  # a new database, created at the head revision
            elif revision != HEAD_REVISION:
                upgrade_to_head(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and server shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _write_lock(engine: Engine) -> threading.RLock | None:
    if engine.dialect.name != "sqlite":
        return None
    lock = _write_locks.get(id(engine))
    if lock is None:
        with _lock:
            lock = _write_locks.setdefault(id(engine), threading.RLock())
    return lock


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed when the block ends, rolled back on error."""
    lock = _write_lock(engine)
    if lock is None:
        with engine.connect().execution_options(runfolio_write=True) as conn, conn.begin():
            yield conn
        return
    with lock, engine.connect().execution_options(runfolio_write=True) as conn, conn.begin():
        yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (a consistent snapshot on SQLite WAL)."""
    with engine.connect() as conn, conn.begin():
        yield conn
