"""The server's scheduled retention pass: every RUNFOLIO_RETENTION_INTERVAL seconds,
in a background thread, for as long as the app runs.

Several workers each run their own schedule, unsynchronised: the pass is idempotent
(a version deleted by one worker is simply not found by another) and cheap when there
is nothing to do (one grouped read per workspace with policies), so there is no lock
to hold or lose. Each worker waits a random part of the interval first, so workers
started together do not all pass at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading

from sqlalchemy import Engine

from runfolio.errors import Busy
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.retention_pass import run_pass

log = logging.getLogger("runfolio.retention")


class RetentionSchedule:
    def __init__(self, engine: Engine, interval: float, blob_files: BlobFiles | None) -> None:
        self._engine = engine
        self._blob_files = blob_files
        self._interval = interval
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._passing = False

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Ask a running pass to end after its current batch and wait for it (the engine
        is disposed next); a schedule that is only sleeping is cancelled."""
        self._stop.set()
        if self._task is None:
            return
        if not self._passing:
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _loop(self) -> None:
        delay = random.uniform(0.5, 1.0) * self._interval
        while not self._stop.is_set():
            await asyncio.sleep(delay)
            delay = self._interval
            self._passing = True
            try:
                # A thread of its own: the pass sleeps between batches, and the API's
                # writer thread must stay free for requests.
                report = await asyncio.to_thread(
                    run_pass, self._engine, stopping=self._stop.is_set, blob_files=self._blob_files
                )
            except Busy as exc:
                log.warning("retention pass skipped, the database was busy: %s", exc)
                continue
            except Exception:
                log.exception("retention pass failed; the next one runs on schedule")
                continue
            finally:
                self._passing = False
            if report.versions_deleted or report.blobs_deleted:
                log.info(
                    "retention: deleted %d versions of %d keys and %s unreferenced blobs in %.2f s",
                    report.versions_deleted,
                    report.keys_touched,
                    report.blobs_deleted,
                    report.seconds,
                )
