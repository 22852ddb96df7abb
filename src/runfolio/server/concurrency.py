"""The server's one concurrency model: nothing that can wait for a lock runs on the event loop.

- **Writes** run on a writer thread pool, never on the event loop: a write may
  wait for SQLite's write lock (held by a script on the embedded default, the
  CLI, or another server process), and that wait must not stall `/api/health`,
  reads or the UI. On SQLite there is one writer thread (SQLite has one writer
  anyway; queueing in the loop costs nothing, while threads blocked in SQLite's
  busy handler would); on other databases as many as the connection pool
  keeps (`RUNFOLIO_DB_POOL_SIZE`).
  A write that cannot start within the write timeout answers 503 with
  Retry-After (`Busy`) instead of hanging, and so does one whose transaction
  cannot get the lock within it (`runfolio.store.engine.write`).
- **Quick writes** (`Gate.quick_write`: one short transaction, such as an
  artifact create) on SQLite run inline when theirs is the only write request
  the process is serving (`CountWrites`), nothing else is writing and the write
  lock is free at once; otherwise, or when the lock turns out taken
  (`WouldWait`, before any statement ran), they go to the writer thread like
  any write. For a lone client the hop costs about as much CPU as the insert
  itself; under concurrent writes the thread lets the loop read the next
  requests while SQLite works (inline there lost a third of the throughput, in
  bench/compare_servers.py's W2). An inline write never waits for a lock. Its
  commit does not fsync (WAL, synchronous=NORMAL; with FULL, quick writes take
  the thread) nor checkpoint: the writer thread checkpoints every
  `CHECKPOINT_EVERY` inline writes.
- **Artifact creates and updates on PostgreSQL** run on the event loop as one statement, through
  an async connection that waits for the database without blocking the loop
  (`PostgresQuickWrites`, from a small pool of its own); the cases it does not take go to
  the writer threads as above.
- **Reads on SQLite run inline** on the event loop: in WAL mode a reader never
  waits for a writer, and an inline read costs less than a thread hop (a
  long read holds the GIL in a thread all the same). On other databases a read
  is network I/O, so it runs on a reader thread pool, as large as the
  connection pool with its overflow.
- **Several workers** (`runfolio server start --workers N`) are separate
  processes, each with its own gate, engine and pool; none keeps anything that
  must be consistent in memory: every request reads the database (what is
  cached, compiled statements, serialisers and the static files' hash, derives
  from the code and is the same in every worker). Their
  SQLite writers queue on SQLite's file lock (BEGIN IMMEDIATE, bounded by the
  busy timeout), not on this gate (`runfolio.store.engine.write`).

Blocking calls outside the API's operations (the UI's page data and
rendering, the CSV export) run in the framework's thread pool: a page does
more than a read (`runfolio.server.ui.site.PageApi`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from runfolio.errors import Busy
from runfolio.server.postgres_quick_writes import PostgresQuickWrites
from runfolio.store.engine import DEFAULT_POOL_SIZE, WouldWait, checkpoint, without_waiting

P = ParamSpec("P")
T = TypeVar("T")

WRITERS_SQLITE = 1
#: Inline writes between two WAL checkpoints on the writer thread (~3 pages each).
CHECKPOINT_EVERY = 500
# SQLite's `PRAGMA synchronous` value for NORMAL (FULL is 2: an fsync per commit).
_SYNCHRONOUS_NORMAL = 1

log = logging.getLogger(__name__)


class Gate:
    """Runs the database calls of the API by the model above."""

    def __init__(
        self, engine: Engine, write_timeout: float, pool_size: int = DEFAULT_POOL_SIZE
    ) -> None:
        """`pool_size`: the engine's connections kept (it opens as many again under load)."""
        sqlite = engine.dialect.name == "sqlite"
        self._write_timeout = write_timeout
        self._writer_count = WRITERS_SQLITE if sqlite else pool_size
        self._writers = ThreadPoolExecutor(self._writer_count, thread_name_prefix="runfolio-w")
        self._readers = (
            None if sqlite else ThreadPoolExecutor(2 * pool_size, thread_name_prefix="runfolio-r")
        )
        # Created on first use: it belongs to the running event loop.
        self._write_slots: asyncio.Semaphore | None = None
        self._engine = engine
        self._quick_inline = sqlite and _synchronous(engine) == _SYNCHRONOUS_NORMAL
        self._inline_writes = 0
        #: PostgreSQL: creates and updates on the event loop, opened and closed by the lifespan.
        self.postgres_quick_writes = (
            PostgresQuickWrites(engine, pool_size, write_timeout)
            if engine.dialect.name == "postgresql"
            else None
        )
        #: Write requests (POST, PUT, PATCH, DELETE) being served, kept by `CountWrites`.
        self.write_requests = 0

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)`, inline on SQLite, else on a reader thread."""
        if self._readers is None:
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on a writer thread, once a writer is free in time."""
        slots = self._write_slots
        if slots is None:
            slots = self._write_slots = asyncio.Semaphore(self._writer_count)
        if slots.locked():  # only a write that must queue pays for a timer
            try:
                async with asyncio.timeout(self._write_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise Busy(
                    f"The server is busy: writes have queued for more than "
                    f"{self._write_timeout:g} s. Nothing was written; retry shortly.",
                    retry_after=min(self._write_timeout, 5.0),
                ) from None
        else:
            await slots.acquire()
        try:
            loop = asyncio.get_running_loop()
            call = functools.partial(fn, *args, **kwargs)
            return await loop.run_in_executor(self._writers, call)
        finally:
            slots.release()

    async def quick_write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`write` for one short transaction: inline when it need not wait (see above).

        `fn` must write in a single transaction and do nothing before it that cannot be
        done twice: if the lock is taken, it is run again on the writer thread.
        """
        if self._quick_inline:
            # One turn of the loop first: requests already received start, and count.
            await asyncio.sleep(0)
        slots = self._write_slots
        alone = self.write_requests <= 1
        if self._quick_inline and alone and (slots is None or not slots.locked()):
            try:
                with without_waiting():
                    result = fn(*args, **kwargs)
            except WouldWait:
                pass  # another writer holds the lock: wait for it on the writer thread
            else:
                self._inline_writes += 1
                if self._inline_writes % CHECKPOINT_EVERY == 0:
                    # Shutting down: the last connection to close checkpoints instead.
                    with contextlib.suppress(RuntimeError):
                        self._writers.submit(self._checkpoint)
                return result
        return await self.write(fn, *args, **kwargs)

    def _checkpoint(self) -> None:
        try:
            checkpoint(self._engine)
        except Exception:  # the next one (or any other connection's commit) catches up
            log.warning("WAL checkpoint failed", exc_info=True)

    def close(self) -> None:
        """Stop the threads (after the calls in flight end)."""
        self._writers.shutdown(wait=True)
        if self._readers is not None:
            self._readers.shutdown(wait=True)


def _synchronous(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CountWrites:
    """ASGI middleware: counts the write requests in flight on `gate` (see `quick_write`).

    Reads are not counted: a long one (an event stream) must not keep writes off the loop.
    """

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        self.gate.write_requests += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.write_requests -= 1
