"""The retry policy on its own: outcomes in, states and waits out, no I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextlib import nullcontext as does_not_raise

import pytest

from runfolio._attempts import Attempts, StateNote, drive, drive_async


def test_success_is_done() -> None:
    step = Attempts(2, 5, "Task run").succeeded()
    assert (step.state.type, step.state.name, step.retry_in) == ("COMPLETED", "Completed", None)


def test_failures_retry_with_their_delays_then_give_up() -> None:
    policy = Attempts(2, [1, 3, 9], "Flow run")
    first = policy.failed(RuntimeError("boom"))
    assert (first.state.name, first.retry_in) == ("AwaitingRetry", 1.0)
    assert first.state.message == "Attempt 1 failed (RuntimeError: boom); retrying in 1 s."
    assert policy.retrying().name == "Retrying"
    assert policy.failed(RuntimeError("boom")).retry_in == 3.0
    policy.retrying()
    last = policy.failed(RuntimeError("boom"))
    assert (last.state.type, last.retry_in) == ("FAILED", None)
    assert last.state.message == "Flow run encountered an exception: RuntimeError: boom"


def test_an_interrupt_gives_up_at_once() -> None:
    step = Attempts(5, None, "Task run").failed(KeyboardInterrupt())
    assert (step.state.type, step.retry_in) == ("CRASHED", None)


class Recorded:
    """The names of the states a driver recorded, and of the one it finished with."""

    def __init__(self) -> None:
        self.states: list[str | None] = []
        self.finished: list[str | None] = []

    def record(self, state: StateNote) -> None:
        self.states.append(state.name)

    def finish(self, state: StateNote) -> None:
        self.finished.append(state.name)

    async def record_async(self, state: StateNote) -> None:
        self.record(state)

    async def finish_async(self, state: StateNote) -> None:
        self.finish(state)


def failing(times: int) -> Callable[[], str]:
    left = [times]

    def call() -> str:
        if left[0]:
            left[0] -= 1
            raise ValueError("not yet")
        return "ok"

    return call


@pytest.mark.parametrize(
    ("failures", "retried", "last"), [(0, 0, "Completed"), (1, 1, "Completed"), (3, 2, "Failed")]
)
def test_the_sync_and_async_drivers_follow_the_policy(
    failures: int, retried: int, last: str
) -> None:
    def outcome() -> AbstractContextManager[object]:
        return does_not_raise() if last == "Completed" else pytest.raises(ValueError)

    sync = Recorded()
    with outcome():
        assert (
            drive(failing(failures), Attempts(2, 0, "Task run"), sync.record, sync.finish) == "ok"
        )

    call = failing(failures)

    async def acall() -> str:
        return call()

    seen = Recorded()
    policy = Attempts(2, 0, "Task run")
    with outcome():
        assert asyncio.run(drive_async(acall, policy, seen.record_async, seen.finish_async)) == "ok"

    for recorded in (sync, seen):
        assert recorded.states == ["AwaitingRetry", "Retrying"] * retried
        assert recorded.finished == [last]
