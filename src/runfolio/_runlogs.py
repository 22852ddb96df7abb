"""Run logs: `print` capture for `log_prints=True` and `get_run_logger()`.

Lines are buffered per run and written in batches (at the end of the run, or
every 100 lines), so logging does not cost a database write per line.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from runfolio.context import flow_run_context, task_run_context

if TYPE_CHECKING:  # the schemas load with the first run, not on `import runfolio`
    from runfolio.schemas.runs import LogCreate

_FLUSH_EVERY = 100
_lock = threading.Lock()
_buffers: dict[uuid.UUID, list[LogCreate]] = {}
_original_print = builtins.print
_print_installed = False


def _record(level: int, message: str, name: str) -> None:
    from runfolio.schemas.common import new_id
    from runfolio.schemas.runs import LogCreate

    flow_ctx = flow_run_context.get()
    if flow_ctx is None:
        return
    task_ctx = task_run_context.get()
    entry = LogCreate(
        id=new_id(),  # a resent batch is stored once
        name=name,
        level=level,
        message=message,
        timestamp=dt.datetime.now(dt.UTC),
        flow_run_id=flow_ctx.flow_run_id,
        task_run_id=task_ctx.task_run_id if task_ctx is not None else None,
    )
    with _lock:
        buffer = _buffers.setdefault(flow_ctx.flow_run_id, [])
        buffer.append(entry)
        full = len(buffer) >= _FLUSH_EVERY
    if full:
        flush(flow_ctx.flow_run_id)


def flush(flow_run_id: uuid.UUID) -> None:
    """Write the buffered lines of a flow run."""
    flow_ctx = flow_run_context.get()
    with _lock:
        entries = _buffers.pop(flow_run_id, [])
    if entries and flow_ctx is not None:
        flow_ctx.client.create_logs(entries)


def _print(*args: object, sep: str | None = " ", end: str | None = "\n", **kwargs: Any) -> None:
    _original_print(*args, sep=sep, end=end, **kwargs)
    task_ctx = task_run_context.get()
    flow_ctx = flow_run_context.get()
    capturing = (
        task_ctx.log_prints if task_ctx is not None else bool(flow_ctx and flow_ctx.log_prints)
    )
    if capturing and kwargs.get("file") is None:
        _record(logging.INFO, (sep or " ").join(str(a) for a in args), "runfolio.print")


def install_print_capture() -> None:
    """Route `print` through the run log while a run with log_prints=True is active."""
    global _print_installed
    with _lock:
        if not _print_installed:
            builtins.print = _print
            _print_installed = True


class _RunLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _record(record.levelno, self.format(record), record.name)
        except Exception:  # a log line must never break the run
            self.handleError(record)


_logger = logging.getLogger("runfolio.run")
_logger.addHandler(_RunLogHandler())
_logger.setLevel(logging.INFO)


def get_run_logger() -> logging.Logger:
    """A logger whose lines are stored with the current flow run (and task run)."""
    return _logger
