"""What flows and tasks share: states, retries and parameter capture."""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from runfolio.schemas.runs import StateCreate

R = TypeVar("R")


def _state(type_: str, name: str, message: str | None = None) -> StateCreate:
    # The schemas (pydantic) load on the first run, not on `import runfolio`.
    from runfolio.schemas.common import new_id, utcnow
    from runfolio.schemas.runs import StateCreate, StateType

    # Stamped now: the state may be written later (task runs are recorded in batches).
    # Its own id makes a resent write a replay the store keeps once.
    return StateCreate(
        id=new_id(), type=StateType(type_), name=name, message=message, timestamp=utcnow()
    )


def pending() -> StateCreate:
    return _state("PENDING", "Pending")


def running(name: str = "Running") -> StateCreate:
    return _state("RUNNING", name)


def completed() -> StateCreate:
    return _state("COMPLETED", "Completed")


def failed(exc: BaseException, what: str) -> StateCreate:
    return _state(
        "FAILED", "Failed", f"{what} encountered an exception: {type(exc).__name__}: {exc}"
    )


def crashed(exc: BaseException, what: str) -> StateCreate:
    return _state("CRASHED", "Crashed", f"{what} was interrupted: {type(exc).__name__}: {exc}")


def awaiting_retry(exc: BaseException, attempt: int, delay: float) -> StateCreate:
    return _state(
        "SCHEDULED",
        "AwaitingRetry",
        f"Attempt {attempt} failed ({type(exc).__name__}: {exc}); retrying in {delay:g} s.",
    )


def end_state(exc: BaseException, what: str) -> StateCreate:
    """FAILED for an ordinary exception, CRASHED for an interrupt or exit."""
    if isinstance(exc, Exception):
        return failed(exc, what)
    return crashed(exc, what)


def retry_delay(delays: float | Sequence[float] | None, attempt: int) -> float:
    """The wait before retry number `attempt` (1-based)."""
    if delays is None:
        return 0.0
    if isinstance(delays, int | float):
        return float(delays)
    if not delays:
        return 0.0
    return float(delays[min(attempt - 1, len(delays) - 1)])


class Step(NamedTuple):
    """What an attempt's outcome means: a state to record now, and what comes next."""

    state: StateCreate
    retry_in: float | None  # seconds before the next attempt; None when this one was the last


class Attempts:
    """The retry policy of one run, with no I/O of its own.

    Told how an attempt ended, it answers done (COMPLETED), give up (FAILED, or
    CRASHED for an interrupt) or retry after N seconds (AwaitingRetry, then
    Retrying), so flows and tasks, sync and async, follow one rule; the drivers
    below only call the function, record states and sleep.
    """

    __slots__ = ("delays", "number", "retries", "what")

    def __init__(self, retries: int, delays: float | Sequence[float] | None, what: str) -> None:
        self.retries = retries
        self.delays = delays
        self.what = what  # "Flow run" or "Task run", for the failure message
        self.number = 1  # the attempt under way

    def succeeded(self) -> Step:
        return Step(completed(), None)

    def failed(self, exc: BaseException) -> Step:
        # Only ordinary exceptions are retried: an interrupt or exit ends the run at once.
        if self.number > self.retries or not isinstance(exc, Exception):
            return Step(end_state(exc, self.what), None)
        delay = retry_delay(self.delays, self.number)
        return Step(awaiting_retry(exc, self.number, delay), delay)

    def retrying(self) -> StateCreate:
        """The state that starts the next attempt, once the wait is over."""
        self.number += 1
        return running("Retrying")


def drive(
    call: Callable[[], R],
    attempts: Attempts,
    record: Callable[[StateCreate], object],
    finish: Callable[[StateCreate], object],
) -> R:
    """Call until `attempts` says done or give up; the last state goes to `finish`."""
    while True:
        try:
            result = call()
        except BaseException as exc:
            step = attempts.failed(exc)
            if step.retry_in is None:
                finish(step.state)
                raise
            record(step.state)
            time.sleep(step.retry_in)
            record(attempts.retrying())
        else:
            finish(attempts.succeeded().state)
            return result


async def drive_async(
    call: Callable[[], Awaitable[R]],
    attempts: Attempts,
    record: Callable[[StateCreate], Awaitable[object]],
    finish: Callable[[StateCreate], Awaitable[object]],
) -> R:
    """`drive` for a coroutine function: awaits the call and the records, sleeps with asyncio."""
    import asyncio  # loaded only by async runs, to keep `import runfolio` light

    while True:
        try:
            result = await call()
        except BaseException as exc:
            step = attempts.failed(exc)
            if step.retry_in is None:
                await finish(step.state)
                raise
            await record(step.state)
            await asyncio.sleep(step.retry_in)
            await record(attempts.retrying())
        else:
            await finish(attempts.succeeded().state)
            return result


# Parameters are a readable record of the call, not a copy of its data.
MAX_PARAMETER_CHARS = 2000


def _jsonable(value: Any) -> Any:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
        value = text
    if len(text) > MAX_PARAMETER_CHARS:
        return f"{text[: MAX_PARAMETER_CHARS - 1]}…"
    return value


@functools.lru_cache(maxsize=1024)
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def bound_parameters(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name, as JSON-safe values (repr where needed)."""
    signature = _signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return {}
    bound.apply_defaults()
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            out.update({k: _jsonable(v) for k, v in value.items()})
        else:
            out[name] = _jsonable(value)
    return out
