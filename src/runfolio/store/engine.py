"""Opening a database: the dialect is chosen here, once.

`connect(url)` returns a new engine, owned by the caller (dispose it when done),
whose schema is migrated to the head revision; `open_engine(url)` shares one
per URL for the process (tools and tests). SQLite files run in WAL mode with a
busy timeout, so a server and scripts can share one file; write transactions
start with BEGIN IMMEDIATE so two writers queue instead of failing half-way.
A writer that cannot get the lock within the engine's write timeout gets
`Busy` (the server answers 503 with Retry-After) instead of waiting forever.

Several processes (server workers, scripts, the CLI) may share one database.
On SQLite the in-process write lock below only queues the writers of one
process; across processes SQLite's own file lock does it, taken up front by
BEGIN IMMEDIATE and waited for at most the busy timeout (the write timeout).
Other databases get a pool of `pool_size` connections (and as many again under
load) per process, checked before use (pre-ping): size it so every process's
pool fits the server's connection limit. On PostgreSQL a statement waits for a
lock at most the write timeout (`lock_timeout`); a write that times out is `Busy`.
A new connection waits at most `CONNECT_TIMEOUT`; while the database server is down
every use fails promptly (`is_unreachable`), and pre-ping reconnects once it is back.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from runfolio.errors import Busy
from runfolio.store.migrations import HEAD_REVISION, create_fresh, upgrade_to_head
from runfolio.store.textfold import SQL_LOWER, simple_lower
from runfolio.store.types import read_json_as_text

if TYPE_CHECKING:  # the driver's module, for its connection type (SQLAlchemy loads it)
    import sqlite3

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
# One in-process writer at a time per SQLite engine: threads queue on a lock
# instead of polling SQLite's busy handler (which sleeps in milliseconds).
# Weak keys: the lock goes with its engine.
_write_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_write_timeouts: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
# Set by `without_waiting()` in the thread whose writes must not wait for a lock.
_not_waiting = threading.local()

DEFAULT_WRITE_TIMEOUT = 30.0
#: Connections per process to a non-SQLite database (as many again under load).
DEFAULT_POOL_SIZE = 5
SYNCHRONOUS_MODES = ("NORMAL", "FULL")
#: SQLite checkpoints (and fsyncs) the WAL once it holds this many pages (~16 MiB), instead
#: of every 4 MiB: fewer stalls.
WAL_AUTOCHECKPOINT_PAGES = 4000
#: SQLite's page cache per connection, in KiB (negative pragma values are KiB). Any
#: UPDATE of a row rewrites its whole record, so bumping `updated` on a table artifact of
#: megabytes (an append of rows) reads every page of it: cached, that costs about 2 ms
#: instead of 50 (the default cache is 2 MiB). Pages are allocated only as they are read.
SQLITE_CACHE_KIB = 32_768
#: Seconds a new connection to a database server may take (unless the URL sets
#: connect_timeout): a server that accepts but never answers (stopped, or its network
#: lost) fails the request in seconds instead of the OS's TCP timeout.
CONNECT_TIMEOUT = 5
#: A pooled connection idle longer than this is pinged before use (see `_ping_when_idle`).
PING_AFTER_IDLE_S = 1.0


def _configure_sqlite(engine: Engine, synchronous: str, write_timeout: float) -> None:
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
    busy_timeout_ms = int(write_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are off).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()
        # Case-insensitive filters on non-ASCII text, as PostgreSQL's ILIKE does them.
        dbapi_conn.create_function(SQL_LOWER, 1, simple_lower, deterministic=True)

    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # On the driver: through `exec_driver_sql` a BEGIN costs as much CPU as an insert.
        begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get("runfolio_write") else "BEGIN"
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute(begin)
        except dbapi_error as exc:  # as `exec_driver_sql` raises it (a lock: `Busy`)
            raise DBAPIError.instance(begin, None, exc, dbapi_error) from exc


def _configure_postgresql(engine: Engine, write_timeout: float) -> None:
    lock_timeout_ms = int(write_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # A statement that waits for a lock (a row, a table, a key's writer queue) longer
        # than the write timeout fails, and a write answers `Busy`: SQLite's busy timeout.
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {lock_timeout_ms}")
        dbapi_conn.commit()
        read_json_as_text(dbapi_conn)


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    A connection the database server dropped (it restarted) must be replaced on checkout,
    so that service resumes by itself once the server is back. SQLAlchemy's `pool_pre_ping`
    pings on every checkout: a round trip per request, a sixth of a create's server CPU on
    PostgreSQL. A connection in steady use needs none; one that drops mid-use fails its
    statement as a disconnect, which invalidates the pool (the request answers 503).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is gone")  # the pool reconnects


def _create(url: str, synchronous: str, write_timeout: float, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=False)
        _configure_sqlite(engine, synchronous, write_timeout)
        _write_locks[engine] = threading.RLock()
    else:
        # Per process: N server workers open up to 2 × N × pool_size connections here (and
        # up to N × pool_size more for creates: server.postgres_quick_writes).
        # Pre-ping: a connection the database server dropped (it restarted) is replaced on
        # checkout, so service resumes by itself once the server is back.
        postgres = parsed.get_backend_name() == "postgresql"
        wait = {"connect_timeout": CONNECT_TIMEOUT}
        wait = wait if postgres and "connect_timeout" not in parsed.query else {}
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args=wait)
        _ping_when_idle(engine)
        if postgres:
            _configure_postgresql(engine, write_timeout)
    _write_timeouts[engine] = write_timeout
    return engine


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no alembic_version table yet: a new database
            return None


def connect(
    url: str,
    *,
    synchronous: str = "NORMAL",
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> Engine:
    """A new engine for `url`, migrated to the head revision; the caller disposes it.

    `pool_size` applies to non-SQLite databases (connections kept, as many again under load).
    """
    engine = _create(url, synchronous, write_timeout, pool_size)
    try:
        revision = _current_revision(engine)
        if revision is None and create_fresh(engine):
            pass  # a new database, created at the head revision
        elif revision != HEAD_REVISION:
            upgrade_to_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_engine(url: str) -> Engine:
    """The engine for `url`, migrated to the head revision, shared per URL for the process."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = connect(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and server shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _is_lock_timeout(exc: OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == "55P03":  # PostgreSQL: lock_not_available
        return True
    text_ = str(exc.orig).lower()
    return "database is locked" in text_ or "database is busy" in text_


# SQLSTATEs of a PostgreSQL server that is going away or not back yet: connection
# exceptions (class 08), admin_shutdown, crash_shutdown, cannot_connect_now.
_UNREACHABLE_SQLSTATES = ("57P01", "57P02", "57P03")


def is_unreachable(exc: OperationalError) -> bool:
    """The database server refused or dropped the connection (down, restarting), as
    opposed to an error of the statement: worth a retry once the server is back."""
    if exc.connection_invalidated:  # SQLAlchemy saw the session end
        return True
    if not hasattr(exc.orig, "sqlstate"):  # not PostgreSQL (SQLite is a local file)
        return False
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    # None: libpq's own error while connecting (refused, timed out), the server said nothing.
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES


def _busy(held: str, timeout: float) -> Busy:
    """Nothing was written: the caller may retry once `held` is released."""
    return Busy(
        f"The database is busy: {held} for more than {timeout:g} s. "
        "Nothing was written; retry shortly.",
        retry_after=min(timeout, 5.0),
    )


class WouldWait(Exception):
    """A write in `without_waiting()` found the write lock taken; nothing was done."""


@contextmanager
def without_waiting() -> Iterator[None]:
    """SQLite writes in this block (this thread) never wait: one whose write lock is
    taken raises `WouldWait` at once, before any statement. Nor do they checkpoint the
    WAL (an fsync); call `checkpoint()` elsewhere. For a caller that must not block,
    such as an event loop; do one write transaction per block (see `Gate.quick_write`)."""
    _not_waiting.on = True
    try:
        yield
    finally:
        _not_waiting.on = False


def checkpoint(engine: Engine) -> None:
    """Copy the WAL into the SQLite file as far as no reader needs it (never waits)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


# Inline (no-wait) SQLite writes run on one connection kept for them per engine, opened
# never waiting (busy_timeout=0) nor checkpointing (wal_autocheckpoint=0): switching a
# pooled connection to that and back cost four PRAGMAs per write, and its checkout and
# checkin as much again. One is enough: the process's write lock lets one writer in at a
# time, and it is used only under that lock. Closed when the engine is disposed.
_quick_connections: dict[Engine, Connection] = {}


def _quick_connection(engine: Engine) -> Connection:
    conn = _quick_connections.get(engine)
    if conn is not None and not conn.closed and not conn.invalidated:
        return conn
    if engine not in _quick_connections:
        event.listen(engine, "engine_disposed", _close_quick_connection)
    conn = engine.connect().execution_options(runfolio_write=True)
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA busy_timeout=0")
    driver.execute("PRAGMA wal_autocheckpoint=0")
    _quick_connections[engine] = conn
    return conn


def _close_quick_connection(engine: Engine) -> None:
    conn = _quick_connections.pop(engine, None)
    if conn is not None and not conn.in_transaction():  # else its writer closes it (GC)
        conn.close()


@contextmanager
def _sqlite_not_waiting(conn: Connection, timeout: float) -> Iterator[None]:
    # Only this transaction: the pooled connection gets its settings back afterwards.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA busy_timeout=0")
    driver.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        driver.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")


@contextmanager
def _connection(engine: Engine, wait: bool, timeout: float) -> Iterator[Connection]:
    """A connection for one write transaction: the pool's, or the inline writes' own."""
    if not wait and isinstance(engine.pool, QueuePool):  # a SQLite file
        yield _quick_connection(engine)
        return
    with engine.connect().execution_options(runfolio_write=True) as conn:
        if wait:
            yield conn
            return
        # In-memory SQLite: the pool hands each thread its one connection, which its
        # reads share, so it is switched for this transaction only.
        with _sqlite_not_waiting(conn, timeout):
            yield conn


@contextmanager
def _begin_write(engine: Engine, wait: bool = True) -> Iterator[Connection]:
    timeout = _write_timeouts.get(engine, DEFAULT_WRITE_TIMEOUT)
    with _connection(engine, wait, timeout) as conn:
        try:
            transaction = conn.begin()
        except OperationalError as exc:
            # BEGIN IMMEDIATE waited the busy timeout for another process's write lock;
            # nothing was written, so the caller may simply retry.
            if _is_lock_timeout(exc):
                if not wait:
                    raise WouldWait from None
                raise _busy("its write lock was held by another writer", timeout) from None
            raise
        try:
            with transaction:
                yield conn
        except OperationalError as exc:
            # PostgreSQL waits for locks statement by statement; the transaction is
            # rolled back, so nothing was written.
            if _is_lock_timeout(exc):
                raise _busy("a lock was held by another writer", timeout) from None
            raise


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed when the block ends, rolled back on error.

    Raises `Busy` when the write lock cannot be had within the engine's write timeout.
    """
    # This lock queues this process's writers only; other processes (server workers,
    # scripts) are kept out by SQLite's file lock, which BEGIN IMMEDIATE takes up front
    # and waits for at most the busy timeout (then `Busy`, with nothing written).
    lock = _write_locks.get(engine)
    if lock is None:
        if getattr(_not_waiting, "on", False):
            raise WouldWait  # only SQLite writes can be tried without waiting
        with _begin_write(engine) as conn:
            yield conn
        return
    timeout = _write_timeouts.get(engine, DEFAULT_WRITE_TIMEOUT)
    wait = not getattr(_not_waiting, "on", False)
    if not lock.acquire(blocking=wait, timeout=timeout if wait else -1):
        if not wait:
            raise WouldWait
        raise _busy("another write in this process held the lock", timeout)
    # The block's one try: were it to write again, that write waits (refusing it after
    # this one committed would have the caller redo both).
    _not_waiting.on = False
    try:
        with _begin_write(engine, wait) as conn:
            yield conn
    finally:
        lock.release()


@contextmanager
def read(engine: Engine, *, snapshot: bool = True) -> Iterator[Connection]:
    """A read-only transaction (a consistent snapshot on SQLite WAL).

    `snapshot=False`, for a read whose statements need not share one snapshot: on
    PostgreSQL they run outside a transaction (autocommit), which spares BEGIN and COMMIT,
    two of a one-query listing's three round trips. At READ COMMITTED, PostgreSQL's
    default, each statement of a transaction sees its own snapshot anyway. SQLite reads
    keep their transaction (no round trips there).
    """
    if not snapshot and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
        return
    with engine.connect() as conn, conn.begin():
        yield conn
