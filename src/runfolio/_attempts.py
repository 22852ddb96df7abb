"""What flows and tasks share: states, retries and parameter capture."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runfolio.schemas.runs import StateCreate


def _state(type_: str, name: str, message: str | None = None) -> StateCreate:
    # The schemas (pydantic) load on the first run, not on `import runfolio`.
    from runfolio.schemas.common import utcnow
    from runfolio.schemas.runs import StateCreate, StateType

    # Stamped now: the state may be written later (task runs are recorded in batches).
    return StateCreate(type=StateType(type_), name=name, message=message, timestamp=utcnow())


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
