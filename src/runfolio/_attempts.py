"""What flows and tasks share: states, retries and parameter capture."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from runfolio.schemas.runs import StateCreate

R = TypeVar("R")


class StateNote(NamedTuple):
    """A state as a run enters it: what it is and when, not yet a validated `StateCreate`.

    A task call notes its states this cheaply; the recorder turns them into
    `StateCreate`s (with their ids) off the caller's thread, in batches.
    """

    type: str
    name: str
    message: str | None
    timestamp: dt.datetime

    def create(self) -> StateCreate:
        """The state to write, with an id of its own: a resent write of it is a replay the
        store keeps once."""
        # The schemas (pydantic) load on the first run, not on `import runfolio`.
        from runfolio.schemas.common import new_id
        from runfolio.schemas.runs import StateCreate, StateType

        return StateCreate(
            id=new_id(),
            type=StateType(self.type),
            name=self.name,
            message=self.message,
            timestamp=self.timestamp,
        )


def _state(type_: str, name: str, message: str | None = None) -> StateNote:
    # Stamped now: the state may be written later (task runs are recorded in batches).
    # As `schemas.common.utcnow` stamps it (never on a whole second), without importing
    # the schemas on every state.
    now = dt.datetime.now(dt.UTC)
    return StateNote(type_, name, message, now if now.microsecond else now.replace(microsecond=1))


def pending() -> StateNote:
    return _state("PENDING", "Pending")


def running(name: str = "Running") -> StateNote:
    return _state("RUNNING", name)


def completed() -> StateNote:
    return _state("COMPLETED", "Completed")


def failed(exc: BaseException, what: str) -> StateNote:
    return _state(
        "FAILED", "Failed", f"{what} encountered an exception: {type(exc).__name__}: {exc}"
    )


def crashed(exc: BaseException, what: str) -> StateNote:
    return _state("CRASHED", "Crashed", f"{what} was interrupted: {type(exc).__name__}: {exc}")


def awaiting_retry(exc: BaseException, attempt: int, delay: float) -> StateNote:
    return _state(
        "SCHEDULED",
        "AwaitingRetry",
        f"Attempt {attempt} failed ({type(exc).__name__}: {exc}); retrying in {delay:g} s.",
    )


def end_state(exc: BaseException, what: str) -> StateNote:
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

    state: StateNote
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

    def retrying(self) -> StateNote:
        """The state that starts the next attempt, once the wait is over."""
        self.number += 1
        return running("Retrying")


def drive(
    call: Callable[[], R],
    attempts: Attempts,
    record: Callable[[StateNote], object],
    finish: Callable[[StateNote], object],
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
    record: Callable[[StateNote], Awaitable[object]],
    finish: Callable[[StateNote], Awaitable[object]],
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
# A str this short stays under the limit as JSON even if every character is escaped
# (a character outside the BMP is 12: two \uXXXX escapes), so it needs no trial encoding.
_SHORT_STR = (MAX_PARAMETER_CHARS - 2) // 12
_SMALL_INT = 10**18


def _jsonable(value: Any) -> Any:
    # The common arguments are their own JSON: skip the trial `json.dumps` (a task call's
    # largest cost after the recorder's). Exact types only: a subclass may encode otherwise.
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if (kind is int and -_SMALL_INT < value < _SMALL_INT) or (
        kind is str and len(value) <= _SHORT_STR
    ):
        return value
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return _cut(repr(value))
    if len(text) > MAX_PARAMETER_CHARS:
        return _cut(text)
    # A list or dict is copied (from its JSON): the run is written later, and the task
    # may change the value it was given meanwhile.
    return json.loads(text) if isinstance(value, list | tuple | dict) else value


def _cut(text: str) -> str:
    if len(text) > MAX_PARAMETER_CHARS:
        return f"{text[: MAX_PARAMETER_CHARS - 1]}…"
    return text


class ParameterBinder:
    """Names a call's arguments by parameter, as JSON-safe values (repr where needed).

    Made once per flow or task: the signature is read once, and a function whose
    parameters are all plain (positional or keyword, no `*args`, `**kwargs`, `/` or `*`)
    is bound without `inspect`'s general binder, which costs more than the rest of a
    task call's bookkeeping.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._signature = inspect.signature(fn)
        parameters = self._signature.parameters.values()
        plain = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
        self._names = tuple(p.name for p in parameters) if plain else None
        self._defaults = {p.name: p.default for p in parameters if p.default is not p.empty}

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = self._names
        if names is None or len(args) > len(names):
            return self._bind_generally(args, kwargs)
        out: dict[str, Any] = {}
        from_kwargs = 0
        for index, name in enumerate(names):
            if index < len(args):
                if name in kwargs:  # given twice: the general binder's TypeError
                    return self._bind_generally(args, kwargs)
                value = args[index]
            elif name in kwargs:
                value = kwargs[name]
                from_kwargs += 1
            elif name in self._defaults:
                value = self._defaults[name]
            else:  # missing: the general binder's TypeError
                return self._bind_generally(args, kwargs)
            out[name] = _jsonable(value)
        if from_kwargs != len(kwargs):  # an unknown keyword
            return self._bind_generally(args, kwargs)
        return out

    def _bind_generally(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        signature = self._signature
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


@functools.lru_cache(maxsize=1024)
def _binder(fn: Callable[..., Any]) -> ParameterBinder:
    return ParameterBinder(fn)


def bound_parameters(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name, as JSON-safe values (repr where needed)."""
    return _binder(fn)(args, kwargs)
