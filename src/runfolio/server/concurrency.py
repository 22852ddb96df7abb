"""The server's one concurrency model: the event loop never touches the database.

Every database call (routes, UI pages, the events websocket) runs in a worker
thread, so a writer waiting for SQLite's lock — held by a script on the
embedded default, or the CLI — can never stall `/api/health`, reads or the UI.
Reads and writes draw from separate thread budgets: in WAL mode reads never
wait for writers, so a queue of blocked writes must not use up the threads
reads need.

Writes are gated before they take a thread: on SQLite one at a time (SQLite
has one writer anyway; queueing here costs nothing, while a queue of threads
blocked in SQLite's busy handler would), on other databases up to the pool
size. A write that cannot start within the write timeout answers 503 with
Retry-After (`Busy`) instead of hanging; so does one whose transaction cannot
get the lock within it (see `runfolio.store.engine.write`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine

from runfolio.errors import Busy

P = ParamSpec("P")
T = TypeVar("T")

READ_THREADS = 16  # the engine's pool: 8 connections plus 8 overflow
WRITE_SLOTS_SQLITE = 1
WRITE_SLOTS_OTHER = 8


class Gate:
    """Runs blocking database calls off the event loop, reads and writes apart.

    Built lazily on first use: anyio's limiters belong to the running event loop.
    """

    def __init__(self, engine: Engine, write_timeout: float) -> None:
        self._write_timeout = write_timeout
        self._write_slots_count = (
            WRITE_SLOTS_SQLITE if engine.dialect.name == "sqlite" else WRITE_SLOTS_OTHER
        )
        self._read_threads: anyio.CapacityLimiter | None = None
        self._write_threads: anyio.CapacityLimiter | None = None
        self._write_slots: anyio.Semaphore | None = None

    def _limiters(self) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter, anyio.Semaphore]:
        if self._read_threads is None or self._write_threads is None or self._write_slots is None:
            self._read_threads = anyio.CapacityLimiter(READ_THREADS)
            self._write_threads = anyio.CapacityLimiter(self._write_slots_count)
            self._write_slots = anyio.Semaphore(self._write_slots_count)
        return self._read_threads, self._write_threads, self._write_slots

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in a read thread."""
        read_threads, _, _ = self._limiters()
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=read_threads)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in a write thread, once a write slot is free in time."""
        _, write_threads, write_slots = self._limiters()
        with anyio.move_on_after(self._write_timeout) as waited:
            await write_slots.acquire()
        if waited.cancelled_caught:
            raise Busy(
                f"The server is busy: writes have queued for more than "
                f"{self._write_timeout:g} s. Nothing was written; retry shortly.",
                retry_after=min(self._write_timeout, 5.0),
            )
        try:
            return await anyio.to_thread.run_sync(
                lambda: fn(*args, **kwargs), limiter=write_threads
            )
        finally:
            write_slots.release()
