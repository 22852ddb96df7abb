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
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine

from runfolio.errors import Busy
from runfolio.store.engine import DEFAULT_POOL_SIZE

P = ParamSpec("P")
T = TypeVar("T")

WRITERS_SQLITE = 1


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

    def close(self) -> None:
        """Stop the threads (after the calls in flight end)."""
        self._writers.shutdown(wait=True)
        if self._readers is not None:
            self._readers.shutdown(wait=True)
