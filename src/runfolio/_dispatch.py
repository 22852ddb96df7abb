"""One small adapter for names that serve both sync and async callers.

`create_markdown_artifact(...)` runs synchronously in ordinary code and returns
a coroutine (to be awaited) inside an async flow or task, or where an event
loop is running — the behaviour code moved from the protocol's SDK relies on.
The async twin is always available as `.aio` and under its `a…` name.

For type checkers a call returns the sync result: which one a caller gets is
decided at run time, and typed async code awaits `.aio(...)` (or the `a…` name),
whose type is the coroutine. The decorators check that the two implementations
take the same parameters and return the same type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, cast, overload

from runfolio.context import in_async_context

P = ParamSpec("P")
Q = ParamSpec("Q")
R = TypeVar("R")
T = TypeVar("T")

# What an `async def` returns when called.
AsyncFn = Callable[P, Coroutine[Any, Any, R]]


class Dual(Generic[P, R]):
    """A function (or method) whose call dispatches on the caller's context."""

    # Copied from the sync implementation by `functools.update_wrapper`.
    __name__: str
    __qualname__: str

    def __init__(
        self, sync_fn: Callable[P, R], async_fn: AsyncFn[P, R], bound_to: object = None
    ) -> None:
        functools.update_wrapper(self, sync_fn)
        self._sync_fn = sync_fn
        self.aio = async_fn
        self._bound_to = bound_to

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if in_async_context():
            # The caller awaits this coroutine; its static type stays the sync result (see above).
            return cast(R, self.aio(*args, **kwargs))
        return self._sync_fn(*args, **kwargs)

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self: Dual[Concatenate[T, Q], R], instance: T, owner: type[Any] | None = None
    ) -> Dual[Q, R]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Dual[..., R]:
        if instance is None:
            return self
        return _bind(self._sync_fn, self.aio, instance, owner, bound_to=instance)

    def __reduce__(self) -> str | tuple[Callable[[object, str], object], tuple[object, str]]:
        # Pickled by reference, like the functions and methods these stand for.
        if self._bound_to is None:
            return self.__qualname__
        return getattr, (self._bound_to, self.__name__)


class DualClassMethod(Generic[P, R]):
    """A classmethod's `Dual`: read from a class (or an instance) it binds the class.

    It decorates a `@classmethod`, and its async twin is a classmethod too.
    """

    def __init__(self, sync_fn: Callable[P, R], async_fn: AsyncFn[P, R]) -> None:
        self._sync_fn = sync_fn
        self._async_fn = async_fn
        self.__doc__ = sync_fn.__doc__

    @overload
    def __get__(
        self: DualClassMethod[Concatenate[type[T], Q], R], instance: None, owner: type[T]
    ) -> Dual[Q, R]: ...
    @overload
    def __get__(
        self: DualClassMethod[Concatenate[type[T], Q], R],
        instance: T,
        owner: type[T] | None = None,
    ) -> Dual[Q, R]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Dual[..., R]:
        cls = owner if owner is not None else type(instance)
        return _bind(self._sync_fn, self._async_fn, instance, cls, bound_to=cls)


def _bind(
    sync_fn: Callable[..., R],
    async_fn: AsyncFn[..., R],
    instance: object,
    owner: type[Any] | None,
    bound_to: object,
) -> Dual[..., R]:
    # Each implementation binds as its own descriptor does (a function to the
    # instance, a classmethod to the class); the overloads above type the result.
    return Dual(sync_fn.__get__(instance, owner), async_fn.__get__(instance, owner), bound_to)


def dual(async_fn: AsyncFn[P, R]) -> Callable[[Callable[P, R]], Dual[P, R]]:
    """Decorate the sync implementation; `async_fn` serves async contexts."""

    def decorate(sync_fn: Callable[P, R]) -> Dual[P, R]:
        return Dual(sync_fn, async_fn)

    return decorate


def dual_classmethod(
    async_fn: AsyncFn[P, R],
) -> Callable[[Callable[P, R]], DualClassMethod[P, R]]:
    """`dual` for a `@classmethod` (applied above it), with an async classmethod twin."""

    def decorate(sync_fn: Callable[P, R]) -> DualClassMethod[P, R]:
        return DualClassMethod(sync_fn, async_fn)

    return decorate
