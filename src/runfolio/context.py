"""The run context: which flow run and task run the current code belongs to.

Held in context variables, so asyncio tasks inherit it; threads started through
`Task.submit` get a copy of it (a bare `threading.Thread` starts outside any run).
"""

from __future__ import annotations

import functools
import sys
import threading
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runfolio._recorder import TaskRunStart
    from runfolio.client.base import RunfolioClient
    from runfolio.schemas.runs import FlowRun, TaskRun
    from runfolio.task_runners import TaskRunnerSession


class MissingContextError(RuntimeError):
    """Raised by `get_run_context()` outside any flow or task run."""


@dataclass
class FlowRunContext:
    """The flow run the current code runs in."""

    flow_run: FlowRun
    flow_name: str
    client: RunfolioClient
    is_async: bool
    log_prints: bool = False
    # Where `Task.submit()` sends tasks during the current attempt (None: a thread).
    task_runner: TaskRunnerSession | None = None
    # Counters for task run names within this flow run (task key → next index).
    task_counts: dict[str, int] = field(default_factory=dict)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_task_index(self, task_key: str) -> int:
        """The next index of `task_key` in this flow run (safe across threads)."""
        with self._count_lock:
            index = self.task_counts.get(task_key, 0)
            self.task_counts[task_key] = index + 1
            return index

    @property
    def flow_run_id(self) -> uuid.UUID:
        return self.flow_run.id


@dataclass
class TaskRunContext:
    """The task run the current code runs in (inside a flow run)."""

    start: TaskRunStart
    task_name: str
    flow_run_id: uuid.UUID | None
    is_async: bool
    log_prints: bool = False

    @property
    def task_run_id(self) -> uuid.UUID:
        return self.start.id

    @functools.cached_property
    def task_run(self) -> TaskRun:
        """The task run as it reads once started (built when asked for: most calls never do)."""
        from runfolio.schemas.runs import TaskRun

        # Its own copy of the create action: the recorder builds and writes the other one.
        action = self.start.create_action()
        assert action.state is not None
        return TaskRun.started(action, action.state)


flow_run_context: ContextVar[FlowRunContext | None] = ContextVar("runfolio_flow_run", default=None)
task_run_context: ContextVar[TaskRunContext | None] = ContextVar("runfolio_task_run", default=None)


def get_run_context() -> TaskRunContext | FlowRunContext:
    """The innermost run context: the task run if inside one, else the flow run."""
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_ctx
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return flow_ctx
    raise MissingContextError(
        "No run context available: get_run_context() works inside a @flow or @task call."
    )


def current_run_ids() -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(flow run id, task run id) of the current code; None where there is no run."""
    flow_ctx = flow_run_context.get()
    task_ctx = task_run_context.get()
    flow_run_id = flow_ctx.flow_run_id if flow_ctx is not None else None
    if task_ctx is not None and flow_run_id is None:
        flow_run_id = task_ctx.flow_run_id
    return flow_run_id, task_ctx.task_run_id if task_ctx is not None else None


def in_async_context() -> bool:
    """Whether a dual sync/async function should return a coroutine here.

    Inside a run: whether the innermost run's function is async. Outside: whether
    an event loop is running in this thread.
    """
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        return task_ctx.is_async
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return flow_ctx.is_async
    # Without asyncio imported no event loop can be running (and importing it costs time).
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
