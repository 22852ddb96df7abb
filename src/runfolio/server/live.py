"""The change feed of one server process: one watcher, many open pages.

Each process (each `--workers` worker) runs one watcher that reads the change
cursor (`runfolio.store.changes`) after the last id it saw, every `INTERVAL_S`,
and hands each change to the queues of the streams that asked for it. Every
worker reads the same database, so a write made through any worker (or a
script on the embedded store) reaches the pages open on all of them.

The watcher only runs while a stream is open. A pruning task runs for the
process's life, so the cursor stays a few minutes long whether pages watch or not.

Streams end when the server stops: uvicorn waits for open responses before it
shuts down, and a stream never ends by itself, so `close` ends them all; it is
called from the exit signals (`chain_exit_signals`), ahead of uvicorn's own handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from runfolio.errors import Busy
from runfolio.server.concurrency import Gate
from runfolio.store import changes
from runfolio.store.engine import read, write

log = logging.getLogger(__name__)

INTERVAL_S = 0.05  # how often the watcher reads the cursor while pages watch
BATCH = 500  # changes read at once; a full batch is followed by another read at once
QUEUE = 1000  # changes a stream may fall behind by before it is ended (it then resumes)
KEEP = dt.timedelta(minutes=10)  # how long a change stays in the cursor
PRUNE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Interest:
    """What a page shows: changes of these artifacts, keys or flow runs, or whole topics."""

    artifacts: frozenset[uuid.UUID] = frozenset()
    keys: frozenset[str] = frozenset()
    runs: frozenset[uuid.UUID] = frozenset()
    topics: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.artifacts or self.keys or self.runs or self.topics)

    def wants(self, change: changes.Change) -> bool:
        if change.topic in self.topics:
            return True
        if change.topic == "artifact" and (
            change.subject_id in self.artifacts
            or (change.key is not None and change.key in self.keys)
        ):
            return True
        return bool(self.runs) and (
            change.flow_run_id in self.runs or change.subject_id in self.runs
        )


@dataclass(eq=False)
class Subscriber:
    """One open stream: its workspace, what it wants, and the changes waiting for it.

    `None` in the queue ends the stream (the server stops, or the stream fell too
    far behind: the browser then reconnects and resumes from its last id).
    """

    workspace_id: uuid.UUID
    interest: Interest
    queue: asyncio.Queue[changes.Change | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE + 1)
    )

    def offer(self, change: changes.Change) -> bool:
        """Queue `change` if this stream wants it; False when the stream must end."""
        if change.workspace_id != self.workspace_id or not self.interest.wants(change):
            return True
        if self.queue.qsize() >= QUEUE:
            self.queue.put_nowait(None)
            return False
        self.queue.put_nowait(change)
        return True


class ChangeFeed:
    """The watcher, the pruner and the streams of one server process."""

    def __init__(
        self, engine: Engine, gate: Gate, max_streams: int, interval: float = INTERVAL_S
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._max_streams = max_streams
        self._interval = interval
        self._subscribers: set[Subscriber] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._pruner: asyncio.Task[None] | None = None
        self._last = 0
        self._starting = asyncio.Lock()
        self.closed = False

    @property
    def streams(self) -> int:
        return len(self._subscribers)

    # -- streams ------------------------------------------------------------------

    async def subscribe(self, workspace_id: uuid.UUID, interest: Interest) -> Subscriber:
        """A new stream; its changes are those committed after this call returns
        (the caller reads what came before from `changes.backlog`)."""
        if self.closed:
            raise Busy("The server is stopping.", retry_after=1)
        if len(self._subscribers) >= self._max_streams:
            raise Busy(
                f"This server already serves {self._max_streams} live streams; "
                "the page polls instead.",
                retry_after=5,
            )
        async with self._starting:  # (two first streams at once start one watcher)
            if self._watcher is None or self._watcher.done():
                # From the newest change now: what was before is the stream's backlog.
                self._last = await self._gate.read(self._last_id)
                self._watcher = asyncio.create_task(self._watch(), name="runfolio-watcher")
            subscriber = Subscriber(workspace_id, interest)
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    # -- the watcher ----------------------------------------------------------------

    def _last_id(self) -> int:
        with read(self._engine) as conn:
            return changes.last_id(conn)

    def _after(self, last: int) -> list[changes.Change]:
        with read(self._engine) as conn:
            return changes.after(conn, last, BATCH)

    async def _watch(self) -> None:
        while self._subscribers and not self.closed:
            try:
                found = await self._gate.read(self._after, self._last)
            except Exception:  # a database away for a moment: streams wait, then go on
                log.warning("reading the change cursor failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for change in found:
                self._last = change.id
                for subscriber in list(self._subscribers):
                    if not subscriber.offer(change):
                        self._subscribers.discard(subscriber)
            if len(found) < BATCH:
                await asyncio.sleep(self._interval)

    # -- pruning --------------------------------------------------------------------

    def _prune(self) -> int:
        with write(self._engine) as conn:
            return changes.prune(conn, dt.datetime.now(dt.UTC) - KEEP)

    async def _prune_forever(self) -> None:
        while not self.closed:
            try:
                await self._gate.write(self._prune)
            except Exception:  # busy or away: the next round prunes
                log.warning("pruning the change cursor failed", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY_S)

    # -- life -----------------------------------------------------------------------

    def start(self) -> None:
        """Start pruning (from the app's start-up, on its event loop)."""
        if self._pruner is None:
            self._pruner = asyncio.create_task(self._prune_forever(), name="runfolio-prune")

    def close(self) -> None:
        """End every stream and stop the tasks (idempotent)."""
        self.closed = True
        for subscriber in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
        self._subscribers.clear()
        for task in (self._watcher, self._pruner):
            if task is not None:
                task.cancel()


def chain_exit_signals(on_exit: Callable[[], None]) -> None:
    """Call `on_exit` on the event loop when SIGINT or SIGTERM arrives, then the handler
    that was there (uvicorn's: it waits for open responses, which `on_exit` ends).

    Only the main thread may set handlers; elsewhere (an app in a test client) the
    app's shutdown closes the feed instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            loop.call_soon_threadsafe(on_exit)
            previous(signum, frame)

        signal.signal(sig, handler)
