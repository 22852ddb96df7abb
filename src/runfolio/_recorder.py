"""Task runs are recorded in the background, in batches.

A task call queues its run and states here instead of waiting for the
database or server; a background thread writes what is pending every 50 ms in
one batch (`record_task_runs`), so a run that finished in between is written
once, with its whole history. Flows flush the recorder before they finish, and
the process flushes it at exit. Each client owns one recorder (`client.recorder`)
and closes it when it closes. States carry their own timestamps, so times
are exact whenever they are written.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runfolio.client.base import RunfolioClient
    from runfolio.schemas.runs import StateCreate, TaskRunCreate

log = logging.getLogger("runfolio")

FLUSH_INTERVAL_S = 0.05
_TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


@dataclass
class _Pending:
    action: TaskRunCreate
    states: list[StateCreate] = field(default_factory=list)


class TaskRunRecorder:
    def __init__(self, client: RunfolioClient) -> None:
        self._client = client
        self._lock = threading.Lock()  # guards _pending and _open
        self._write_lock = threading.Lock()  # one batch at a time, in order
        self._wake = threading.Event()
        self._pending: dict[uuid.UUID, _Pending] = {}
        # Runs not finished yet: their create action, needed for later state records.
        self._open: dict[uuid.UUID, TaskRunCreate] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        _live.add(self)

    def started(self, action: TaskRunCreate) -> None:
        """Queue a new task run (its `state` is its first state)."""
        assert action.id is not None and action.state is not None
        with self._lock:
            self._open[action.id] = action
            self._pending[action.id] = _Pending(action, [action.state])
        self._ensure_thread()

    def state(self, run_id: uuid.UUID, state: StateCreate) -> None:
        """Queue a state of a task run queued before."""
        with self._lock:
            pending = self._pending.get(run_id)
            if pending is None:
                pending = self._pending[run_id] = _Pending(self._open[run_id])
            pending.states.append(state)
            if state.type.value in _TERMINAL:
                self._open.pop(run_id, None)
        self._ensure_thread()

    def flush(self) -> None:
        """Write everything queued so far, now, in the calling thread."""
        from runfolio.schemas.runs import TaskRunRecord

        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return
            # Built from validated parts: no second validation pass.
            records = [
                TaskRunRecord.model_construct(task_run=p.action, states=p.states)
                for p in batch.values()
            ]
            try:
                self._client.record_task_runs(records)
            except Exception as exc:  # tracking must not break the user's run
                log.error(
                    "Could not record %d task run(s) at %s: %s",
                    len(records),
                    self._client.target,
                    exc,
                )

    def close(self) -> None:
        """Write what is queued and stop the background thread."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()

    def _ensure_thread(self) -> None:
        if self._closed:
            self.flush()  # a closed recorder writes at once
            return
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="runfolio-recorder", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            if not self._closed:
                time.sleep(FLUSH_INTERVAL_S)  # let a batch gather
            self._wake.clear()
            self.flush()


# Recorders still in use, flushed at exit; weak, so a closed client's recorder goes.
_live: weakref.WeakSet[TaskRunRecorder] = weakref.WeakSet()


def recorder_for(client: RunfolioClient) -> TaskRunRecorder:
    """The recorder `client` owns."""
    return client.recorder


@atexit.register
def _flush_all() -> None:
    for recorder in list(_live):
        recorder.flush()
