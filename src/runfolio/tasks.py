"""`@task`: a function whose calls inside a flow are recorded as task runs.

Called outside a flow, a task just runs its function (nothing is recorded).
Inside a flow each call creates a task run linked to the flow run, RUNNING
while it works, then COMPLETED or FAILED; each retry attempt is recorded.
`submit()` runs the task with the flow's task runner (`runfolio.task_runners`):
threads of this process with a copy of the run context by default.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast, overload

from runfolio import _attempts
from runfolio._recorder import TaskRunStart, recorder_for
from runfolio._runlogs import install_print_capture
from runfolio.context import FlowRunContext, TaskRunContext, flow_run_context, task_run_context
from runfolio.futures import TaskFuture

if TYPE_CHECKING:
    from runfolio._attempts import StateNote

__all__ = ["Placement", "Task", "TaskFuture", "task"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Placement:
    """A task run's place, chosen where it was submitted when it runs elsewhere (a Dask
    worker): its index among the flow run's runs of the task, its parent task run, and
    labels naming where it ran."""

    index: int
    parent_task_run_id: uuid.UUID | None = None
    labels: dict[str, Any] = field(default_factory=dict)

    def with_labels(self, labels: dict[str, Any]) -> Placement:
        return replace(self, labels={**self.labels, **labels})


class Task(Generic[P, R]):
    """A task: call it like the function it wraps."""

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        retries: int = 0,
        retry_delay_seconds: float | Sequence[float] | None = None,
        tags: Iterable[str] | None = None,
        log_prints: bool | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.fn = fn
        self.name = name or fn.__name__
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.tags = sorted(set(tags or ()))
        self.log_prints = log_prints
        self.task_key = f"{fn.__module__}.{fn.__qualname__}"
        # Read once here, not on every call.
        self._bind_parameters = _attempts.ParameterBinder(fn)
        # `fn` as the coroutine function it is, when it is one.
        self._async_fn: Callable[..., Coroutine[Any, Any, object]] | None = (
            fn if inspect.iscoroutinefunction(fn) else None
        )
        self.is_async = self._async_fn is not None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._async_fn is not None:
            # `fn` is async, so R is its coroutine's type; in a flow the engine's coroutine
            # stands in for that one (awaited, it returns what `fn`'s returns).
            return cast(R, self._coroutine(self._async_fn, args, kwargs))
        flow_ctx = flow_run_context.get()
        if flow_ctx is None:
            return self.fn(*args, **kwargs)
        return self._run_sync(flow_ctx, args, kwargs)

    def _coroutine(
        self,
        fn: Callable[..., Coroutine[Any, Any, object]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Coroutine[Any, Any, object]:
        """A call of the async `fn`: a recorded run inside a flow, the bare call outside."""
        flow_ctx = flow_run_context.get()
        if flow_ctx is None:
            return fn(*args, **kwargs)
        return self._run_async(flow_ctx, fn, args, kwargs)

    # An async task's future holds what its coroutine returns.
    @overload
    def submit(
        self: Task[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs
    ) -> TaskFuture[T]: ...
    @overload
    def submit(self: Task[P, T], *args: P.args, **kwargs: P.kwargs) -> TaskFuture[T]: ...
    def submit(self, *args: P.args, **kwargs: P.kwargs) -> TaskFuture[object]:
        """Run the task with the flow's task runner (threads by default); futures among
        the arguments are resolved before it runs."""
        from runfolio.task_runners import shared_pool, submit_to_thread

        flow_ctx = flow_run_context.get()
        session = flow_ctx.task_runner if flow_ctx is not None else None
        if session is None:  # outside a flow, or on a worker: a thread of this process
            return submit_to_thread(shared_pool(), self, args, kwargs)
        return session.submit(self, args, kwargs)

    def call_now(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        """Call the task here and now, to its end (an async task in its own event loop)."""
        if self._async_fn is not None:
            import asyncio

            return asyncio.run(self._coroutine(self._async_fn, args, kwargs))
        return self(*args, **kwargs)

    def run_placed(
        self,
        flow_ctx: FlowRunContext,
        placement: Placement,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> object:
        """Run and record the task as part of `flow_ctx`'s flow run, at `placement`."""
        if self._async_fn is not None:
            import asyncio

            return asyncio.run(self._run_async(flow_ctx, self._async_fn, args, kwargs, placement))
        return self._run_sync(flow_ctx, args, kwargs, placement)

    @overload
    def map(
        self: Task[P, Coroutine[Any, Any, T]], *iterables: Iterable[Any]
    ) -> list[TaskFuture[T]]: ...
    @overload
    def map(self: Task[P, T], *iterables: Iterable[Any]) -> list[TaskFuture[T]]: ...
    def map(self, *iterables: Iterable[Any]) -> list[TaskFuture[Any]]:  # typed by the overloads
        """Submit one task run per element (like the built-in `map`)."""
        submit: Callable[..., TaskFuture[object]] = self.submit
        return [submit(*args) for args in zip(*iterables, strict=False)]

    # -- the engine --------------------------------------------------------------

    def _create_run(
        self,
        flow_ctx: FlowRunContext,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        placement: Placement | None = None,
    ) -> TaskRunStart:
        """Queue the task run (RUNNING) with the recorder, which builds and validates its
        records when it writes them."""
        from runfolio.schemas.common import new_id

        # (No `Placement` made for a call in the flow's own process: the common case.)
        if placement is None:
            parent = task_run_context.get()
            index = flow_ctx.next_task_index(self.task_key)
            parent_id = parent.task_run_id if parent is not None else None
            labels = None
        else:
            index, parent_id = placement.index, placement.parent_task_run_id
            labels = placement.labels or None
        inputs: dict[str, Any] = {"parameters": self._bind_parameters(args, kwargs)}
        if parent_id is not None:
            inputs["parent_task_run_id"] = str(parent_id)
        dynamic_key = str(index)
        start = TaskRunStart(
            id=new_id(),
            flow_run_id=flow_ctx.flow_run_id,
            name=f"{self.name}-{dynamic_key}",
            task_key=self.task_key,
            dynamic_key=dynamic_key,
            tags=self.tags,
            labels=labels,
            task_inputs=inputs,
            empirical_policy={"retries": self.retries, "retry_delay": self.retry_delay_seconds},
            running=_attempts.running(),
        )
        if not _surely_valid(start):
            start.create_action()  # refused here, before the function runs, as it always was
        recorder_for(flow_ctx.client).started(start)
        return start

    def _context(self, flow_ctx: FlowRunContext, start: TaskRunStart) -> TaskRunContext:
        log_prints = flow_ctx.log_prints if self.log_prints is None else self.log_prints
        if log_prints:
            install_print_capture()
        return TaskRunContext(
            start=start,
            task_name=self.name,
            flow_run_id=flow_ctx.flow_run_id,
            is_async=self.is_async,
            log_prints=log_prints,
        )

    def _policy(self) -> _attempts.Attempts:
        return _attempts.Attempts(self.retries, self.retry_delay_seconds, "Task run")

    def _run_sync(
        self,
        flow_ctx: FlowRunContext,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        placement: Placement | None = None,
    ) -> R:
        start = self._create_run(flow_ctx, args, kwargs, placement)
        # The recorder queues states (written in batches): no I/O here.
        record = functools.partial(recorder_for(flow_ctx.client).state, start.id)
        token = task_run_context.set(self._context(flow_ctx, start))
        try:
            call = functools.partial(self.fn, *args, **kwargs)
            return _attempts.drive(call, self._policy(), record, record)
        finally:
            task_run_context.reset(token)

    async def _run_async(
        self,
        flow_ctx: FlowRunContext,
        fn: Callable[..., Awaitable[object]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        placement: Placement | None = None,
    ) -> object:
        start = self._create_run(flow_ctx, args, kwargs, placement)
        recorder = recorder_for(flow_ctx.client)

        async def record(state: StateNote) -> None:
            recorder.state(start.id, state)  # queued, so it does not block the loop

        token = task_run_context.set(self._context(flow_ctx, start))
        try:
            return await _attempts.drive_async(
                functools.partial(fn, *args, **kwargs),
                self._policy(),
                record,
                record,
            )
        finally:
            task_run_context.reset(token)


# The limits of a task run's create action (`TaskRunCreate`) a call could break.
_MAX_NAME = 500
_MAX_DYNAMIC_KEY = 200
_SCALARS = (str, int, float, bool, type(None))


def _surely_valid(start: TaskRunStart) -> bool:
    """Whether the create action built from `start` later is sure to validate, so the
    caller need not build it now: the common case (short names, parameters whose JSON
    cannot nest past the depth limit)."""
    if len(start.name) > _MAX_NAME or len(start.task_key) > _MAX_NAME:
        return False
    if len(start.dynamic_key) > _MAX_DYNAMIC_KEY:
        return False
    if not all(type(tag) is str for tag in start.tags):
        return False
    parameters = start.task_inputs["parameters"]
    if all(type(value) in _SCALARS for value in parameters.values()):
        return True
    from runfolio.schemas.common import MAX_JSON_DEPTH, json_depth_exceeds

    # {"task_run": {"task_inputs": {"parameters": {...}}}}: the levels above a value.
    return not json_depth_exceeds(parameters, MAX_JSON_DEPTH - 3)


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    tags: Iterable[str] | None = None,
    log_prints: bool | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    tags: Iterable[str] | None = None,
    log_prints: bool | None = None,
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task: `@task` or `@task(name=..., retries=..., ...)`."""
    if fn is not None:
        return Task(fn)

    def decorate(f: Callable[P, R]) -> Task[P, R]:
        return Task(
            f,
            name=name,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            tags=tags,
            log_prints=log_prints,
        )

    return decorate
