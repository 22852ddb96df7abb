"""`@flow`: a function whose calls are recorded as flow runs.

A call records a flow run (name, parameters, PENDING → RUNNING → COMPLETED or
FAILED with times and the exception message) and returns the function's value;
an exception is recorded and re-raised. A flow called inside another flow is a
subflow, linked to the calling task run (a task run is recorded for it when it
is called from the flow body itself).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast, overload

from runfolio import _attempts
from runfolio._recorder import recorder_for
from runfolio._runlogs import flush as flush_logs
from runfolio._runlogs import install_print_capture
from runfolio._signals import sigterm_as_exit
from runfolio.context import FlowRunContext, flow_run_context, task_run_context

if TYPE_CHECKING:
    from runfolio._attempts import StateNote
    from runfolio.client.base import RunfolioClient
    from runfolio.schemas.runs import TaskRun
    from runfolio.task_runners import StoreAddress, TaskRunner

log = logging.getLogger("runfolio")

P = ParamSpec("P")
R = TypeVar("R")


class Flow(Generic[P, R]):
    """A flow: call it like the function it wraps."""

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        version: str | None = None,
        retries: int = 0,
        retry_delay_seconds: float | Sequence[float] | None = None,
        log_prints: bool = False,
        tags: Iterable[str] | None = None,
        task_runner: TaskRunner | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        if task_runner is None:
            from runfolio.task_runners import ThreadPoolTaskRunner

            task_runner = ThreadPoolTaskRunner()
        self.task_runner = task_runner
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.version = version
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.log_prints = log_prints
        self.tags = sorted(set(tags or ()))
        # `fn` as the coroutine function it is, when it is one.
        self._async_fn: Callable[..., Awaitable[object]] | None = (
            fn if inspect.iscoroutinefunction(fn) else None
        )
        self.is_async = self._async_fn is not None
        self._bind_parameters = _attempts.ParameterBinder(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._async_fn is not None:
            # `fn` is async, so R is its coroutine's type; the engine's coroutine stands in
            # for that one (awaited, it returns what `fn`'s returns).
            return cast(R, self._run_async(self._async_fn, args, kwargs))
        return self._run_sync(args, kwargs)

    # -- the engine --------------------------------------------------------------

    def _start(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[FlowRunContext, TaskRun | None]:
        """Record the flow run (and, for a subflow called from a flow body, its task run)."""
        from runfolio.client import get_client
        from runfolio.schemas.common import new_id
        from runfolio.schemas.runs import (
            FlowCreate,
            FlowRunCreate,
            TaskRunCreate,
        )

        parent_flow = flow_run_context.get()
        parent_task = task_run_context.get()
        client = parent_flow.client if parent_flow is not None else get_client()
        self.task_runner.check(_store_of(client))  # refused before any run is recorded
        flow = client.create_flow(FlowCreate(name=self.name, tags=self.tags))
        parent_task_run_id = parent_task.task_run_id if parent_task is not None else None
        wrapper_task = None
        if parent_flow is not None and parent_task is None:
            task_key = f"subflow.{self.name}"
            index = parent_flow.next_task_index(task_key)
            wrapper_task = client.create_task_run(
                TaskRunCreate(
                    id=new_id(),
                    name=f"{self.name}-{index}",
                    flow_run_id=parent_flow.flow_run_id,
                    task_key=task_key,
                    dynamic_key=str(index),
                    state=_attempts.running().create(),
                )
            )
            parent_task_run_id = wrapper_task.id
        run = client.create_flow_run(
            FlowRunCreate(
                id=new_id(),
                flow_id=flow.id,
                flow_version=self.version,
                parameters=self._bind_parameters(args, kwargs),
                parent_task_run_id=parent_task_run_id,
                tags=self.tags,
                empirical_policy={"retries": self.retries, "retry_delay": self.retry_delay_seconds},
                state=_attempts.pending().create(),
            )
        )
        if self.log_prints:
            install_print_capture()
        ctx = FlowRunContext(
            flow_run=run,
            flow_name=self.name,
            client=client,
            is_async=self.is_async,
            log_prints=self.log_prints,
        )
        return ctx, wrapper_task

    def _finish(self, ctx: FlowRunContext, wrapper_task: TaskRun | None, state: StateNote) -> None:
        flush_logs(ctx.flow_run_id)
        recorder_for(ctx.client).flush()  # task runs are written before the flow's end state
        ctx.client.set_flow_run_state(ctx.flow_run_id, state.create())
        if wrapper_task is not None:
            # A state id names one run's state: the task run's copy gets its own.
            ctx.client.set_task_run_state(wrapper_task.id, state.create())

    def _run_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        ctx, wrapper_task = self._start(args, kwargs)
        flow_token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            with sigterm_as_exit():
                return self._attempts_sync(ctx, wrapper_task, args, kwargs)
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(flow_token)
            if flow_run_context.get() is None:  # the outermost flow: its writes delivered
                _drain(ctx)

    def _policy(self) -> _attempts.Attempts:
        return _attempts.Attempts(self.retries, self.retry_delay_seconds, "Flow run")

    def _attempts_sync(
        self,
        ctx: FlowRunContext,
        wrapper_task: TaskRun | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> R:
        def record(state: StateNote) -> None:
            ctx.client.set_flow_run_state(ctx.flow_run_id, state.create())

        record(_attempts.running())
        return _attempts.drive(
            functools.partial(self._attempt_sync, ctx, args, kwargs),
            self._policy(),
            record,
            functools.partial(self._finish, ctx, wrapper_task),
        )

    def _attempt_sync(
        self, ctx: FlowRunContext, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """One attempt: the function, with a session of the task runner open around it
        (closing it waits for the tasks submitted, so they are recorded before the end)."""
        session = self.task_runner.start(_store_of(ctx.client))
        ctx.task_runner = session
        try:
            return self.fn(*args, **kwargs)
        finally:
            ctx.task_runner = None
            session.close()

    async def _run_async(
        self,
        fn: Callable[..., Awaitable[object]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> object:
        import asyncio  # loaded only by async runs, to keep `import runfolio` light

        ctx, wrapper_task = await asyncio.to_thread(self._start, args, kwargs)
        flow_token = flow_run_context.set(ctx)
        task_token = task_run_context.set(None)
        try:
            with sigterm_as_exit():
                return await self._attempts_async(ctx, wrapper_task, fn, args, kwargs)
        finally:
            task_run_context.reset(task_token)
            flow_run_context.reset(flow_token)
            if flow_run_context.get() is None:
                await asyncio.to_thread(_drain, ctx)

    async def _attempts_async(
        self,
        ctx: FlowRunContext,
        wrapper_task: TaskRun | None,
        fn: Callable[..., Awaitable[object]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> object:
        import asyncio

        # The client blocks: its writes run in a thread, off the event loop.
        def record(state: StateNote) -> Awaitable[object]:
            return asyncio.to_thread(ctx.client.set_flow_run_state, ctx.flow_run_id, state.create())

        def finish(state: StateNote) -> Awaitable[None]:
            return asyncio.to_thread(self._finish, ctx, wrapper_task, state)

        async def attempt() -> object:
            # The runner starts and waits in a thread: both block (a cluster's start, above all).
            session = await asyncio.to_thread(self.task_runner.start, _store_of(ctx.client))
            ctx.task_runner = session
            try:
                return await fn(*args, **kwargs)
            finally:
                ctx.task_runner = None
                await asyncio.to_thread(session.close)

        await record(_attempts.running())
        return await _attempts.drive_async(
            attempt,
            self._policy(),
            record,
            finish,
        )


def _store_of(client: RunfolioClient) -> StoreAddress:
    """Where the flow's client writes, for tasks that run in other processes."""
    from runfolio.settings import Settings, load_settings
    from runfolio.task_runners import StoreAddress

    settings = getattr(client, "settings", None)
    if not isinstance(settings, Settings):  # a client of another kind: the environment's
        settings = load_settings()
    return StoreAddress.of(settings)


def _drain(ctx: FlowRunContext) -> None:
    """Give writes queued while the server was away (the HTTP outbox) time to be delivered;
    what is left stays queued on disk, and the flow's outcome is not changed by it."""
    try:
        ctx.client.drain_outbox()
    except Exception as exc:
        log.error("runfolio: could not wait for the outbox of %s: %s", ctx.client.target, exc)


@overload
def flow(fn: Callable[P, R], /) -> Flow[P, R]: ...


@overload
def flow(
    *,
    name: str | None = None,
    version: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    log_prints: bool = False,
    tags: Iterable[str] | None = None,
    task_runner: TaskRunner | None = None,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    version: str | None = None,
    retries: int = 0,
    retry_delay_seconds: float | Sequence[float] | None = None,
    log_prints: bool = False,
    tags: Iterable[str] | None = None,
    task_runner: TaskRunner | None = None,
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Make a function a flow: `@flow`, `@flow()` or `@flow(name=..., task_runner=...)`."""
    if fn is not None:
        return Flow(fn)

    def decorate(f: Callable[P, R]) -> Flow[P, R]:
        return Flow(
            f,
            name=name,
            version=version,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            log_prints=log_prints,
            tags=tags,
            task_runner=task_runner,
        )

    return decorate
