"""One small adapter for names that serve both sync and async callers.

`create_markdown_artifact(...)` runs synchronously in ordinary code and returns
a coroutine (to be awaited) inside an async flow or task, or where an event
loop is running — the behaviour code moved from the protocol's SDK relies on.
The async twin is always available as `.aio` and under its `a…` name.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from runfolio.context import in_async_context

F = TypeVar("F", bound=Callable[..., Any])


def dual(async_fn: Callable[..., Awaitable[Any]]) -> Callable[[F], F]:
    """Decorate the sync implementation; `async_fn` serves async contexts."""

    def decorate(sync_fn: F) -> F:
        @functools.wraps(sync_fn)
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if in_async_context():
                return async_fn(*args, **kwargs)
            return sync_fn(*args, **kwargs)

        dispatch.aio = async_fn  # type: ignore[attr-defined]
        return dispatch  # type: ignore[return-value]

    return decorate
