"""Task runs are recorded in the background, in batches.

A task call queues its run and states here instead of waiting for the
database or server; a background thread writes what is pending every 50 ms in
one batch (`record_task_runs`), so a run that finished in between is written
once, with its whole history. Flows flush the recorder before they finish, and
the process flushes it at exit. Each client owns one recorder (`client.recorder`)
and closes it when it closes. States carry their own timestamps, so times
are exact whenever they are written.

A task call hands over plain facts (`TaskRunStart`, `StateNote`); when a batch is
written they become its records (`RecordedRun`, `RecordedState`: the fields of the
API's `TaskRunRecord`, each state given its id), which the embedded store writes as
they are and the HTTP client sends as JSON. They are not pydantic models: a task call
checks its run's fields as it starts (`Task._create_run`), and states are the SDK's
own, so a second validation would find nothing (and cost more than the write).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from runfolio._attempts import StateNote
    from runfolio.client.base import RunfolioClient
    from runfolio.schemas.runs import StateType, TaskRunCreate

log = logging.getLogger("runfolio")

FLUSH_INTERVAL_S = 0.05
_TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


@dataclass(slots=True)
class TaskRunStart:
    """A task run as its call starts: the fields of its create action, and its first state."""

    id: uuid.UUID
    flow_run_id: uuid.UUID | None
    name: str
    task_key: str
    dynamic_key: str
    tags: list[str]
    labels: dict[str, Any] | None
    task_inputs: dict[str, Any]
    empirical_policy: dict[str, Any]
    running: StateNote
    # `running` as first written, its id kept for later batches (set under the write lock).
    state: RecordedState | None = None
    # Fields of the create action a task call never sets.
    cache_key: str | None = None
    task_version: str | None = None

    def create_action(self) -> TaskRunCreate:
        """The validated create action, its first state given an id."""
        from runfolio.schemas.runs import TaskRunCreate

        return TaskRunCreate(
            id=self.id,
            name=self.name,
            flow_run_id=self.flow_run_id,
            task_key=self.task_key,
            dynamic_key=self.dynamic_key,
            tags=self.tags,
            labels=self.labels,
            task_inputs=self.task_inputs,
            empirical_policy=self.empirical_policy,
            state=self.running.create(),
        )


_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


class RecordedState(NamedTuple):
    """A state as written (`StateCreate`'s fields), with the id that makes a resent
    write of it a replay the store keeps once."""

    id: uuid.UUID
    type: StateType
    name: str
    message: str | None
    timestamp: dt.datetime
    data: Any = None
    state_details: Mapping[str, Any] = _NO_DETAILS


class RecordedRun(NamedTuple):
    """A task run and the states it entered since its last batch (`TaskRunRecord`'s fields)."""

    task_run: TaskRunStart
    states: list[RecordedState]


@dataclass(slots=True)
class _Pending:
    start: TaskRunStart
    states: list[StateNote] = field(default_factory=list)


def _records(batch: Iterable[_Pending]) -> list[RecordedRun]:
    """The batch's runs as written, each state given its id."""
    from runfolio.schemas.common import new_id
    from runfolio.schemas.runs import StateType

    def recorded(note: StateNote) -> RecordedState:
        return RecordedState(
            new_id(), StateType(note.type), note.name, note.message, note.timestamp
        )

    records = []
    for pending in batch:
        start = pending.start
        if start.state is None:
            start.state = recorded(start.running)
        first = start.state
        states = [first if note is start.running else recorded(note) for note in pending.states]
        records.append(RecordedRun(start, states))
    return records


class TaskRunRecorder:
    """`batch_size`: runs queued that start a write before the interval is up (None:
    only the interval). Over HTTP the server writes a batch while the flow goes on
    queueing the next; in process a write takes the caller's CPU whenever it runs, and
    fewer, larger batches cost less.
    """

    def __init__(self, client: RunfolioClient, batch_size: int | None = None) -> None:
        self._client = client
        self._batch_size = batch_size
        self._lock = threading.Lock()  # guards _pending and _open
        self._write_lock = threading.Lock()  # one batch at a time, in order
        self._wake = threading.Event()
        self._full = threading.Event()  # `batch_size` runs are queued
        self._pending: dict[uuid.UUID, _Pending] = {}
        # Runs not finished yet: their start, needed for later state records.
        self._open: dict[uuid.UUID, TaskRunStart] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        _live.add(self)

    def started(self, start: TaskRunStart) -> None:
        """Queue a new task run (`start.running` is its first state)."""
        with self._lock:
            self._open[start.id] = start
            self._pending[start.id] = _Pending(start, [start.running])
            full = self._batch_size is not None and len(self._pending) >= self._batch_size
        if full:
            self._full.set()
        self._ensure_thread()

    def state(self, run_id: uuid.UUID, state: StateNote) -> None:
        """Queue a state of a task run queued before."""
        with self._lock:
            pending = self._pending.get(run_id)
            if pending is None:
                pending = self._pending[run_id] = _Pending(self._open[run_id])
            pending.states.append(state)
            if state.type in _TERMINAL:
                self._open.pop(run_id, None)
        self._ensure_thread()

    def flush(self) -> None:
        """Write everything queued so far, now, in the calling thread."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                self._client.record_task_runs(_records(batch.values()))
            except Exception as exc:  # tracking must not break the user's run
                log.error(
                    "Could not record %d task run(s) at %s: %s",
                    len(batch),
                    self._client.target,
                    exc,
                )

    def close(self) -> None:
        """Write what is queued and stop the background thread."""
        self._closed = True
        self._wake.set()
        self._full.set()
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
        # Already set: the thread has yet to clear it and take the batch, which then
        # holds what was just queued (setting it again costs a lock and a notify).
        if not self._wake.is_set():
            self._wake.set()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            if not self._closed:
                self._full.wait(FLUSH_INTERVAL_S)  # let a batch gather
            self._full.clear()
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
