"""SIGTERM during a flow run: record the run as CRASHED instead of vanishing mid-run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While the outermost flow runs in the main thread, SIGTERM raises SystemExit.

    The run engine records the interrupted flow and task runs as CRASHED (and
    flushes what is queued), then the process exits with 143 as it would have.
    A handler the program installed itself is left alone.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
