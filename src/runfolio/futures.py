"""Futures of submitted task runs, whichever task runner ran them, and `wait()`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)


class _Underlying(Protocol[T_co]):
    """What `concurrent.futures.Future` and `distributed.Future` both offer."""

    def result(self, timeout: float | None = None) -> T_co: ...
    def exception(self, timeout: float | None = None) -> BaseException | None: ...
    def done(self) -> bool: ...


class TaskFuture(Generic[T_co]):
    """The pending result of `Task.submit()` (a thread's or a Dask cluster's future)."""

    def __init__(self, future: _Underlying[T_co]) -> None:
        self._future = future

    @property
    def wrapped(self) -> _Underlying[T_co]:
        """The runner's own future (a Dask future is passed as is to dependent tasks)."""
        return self._future

    def result(self, timeout: float | None = None) -> T_co:
        """The task's return value; its exception, with its own type, if it failed."""
        return self._future.result(timeout=timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the task run ends (TimeoutError after `timeout` seconds)."""
        self._future.exception(timeout=timeout)

    def done(self) -> bool:
        return self._future.done()


class DoneAndNotDone(NamedTuple):
    done: set[TaskFuture[Any]]
    not_done: set[TaskFuture[Any]]


def wait(futures: Iterable[TaskFuture[Any]], timeout: float | None = None) -> DoneAndNotDone:
    """Wait for every future to end (or `timeout` seconds in all); failed ones count as done."""
    pending = list(futures)
    deadline = None if timeout is None else time.monotonic() + timeout
    for future in pending:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            future.wait(left)
        except TimeoutError:
            break
    done = {f for f in pending if f.done()}
    return DoneAndNotDone(done, {f for f in pending if f not in done})


def resolve(value: Any) -> Any:
    """`value` with every TaskFuture in it (through lists, tuples, sets, dicts) replaced by
    its result: tasks take futures as arguments and see the values."""
    if isinstance(value, TaskFuture):
        return value.result()
    if type(value) in (list, tuple, set):  # exact types: a namedtuple is left as it is
        return type(value)(resolve(v) for v in value)
    if type(value) is dict:
        return {k: resolve(v) for k, v in value.items()}
    return value


def unwrap(value: Any) -> Any:
    """`value` with every TaskFuture replaced by the runner's own future (for Dask, which
    resolves its futures inside containers of a task's arguments on the cluster)."""
    if isinstance(value, TaskFuture):
        return value.wrapped
    if type(value) in (list, tuple, set):
        return type(value)(unwrap(v) for v in value)
    if type(value) is dict:
        return {k: unwrap(v) for k, v in value.items()}
    return value
