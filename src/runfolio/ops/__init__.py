"""The operations layer: one function per operation, shared by every caller.

Each operation takes a `Context` (the database, who is calling and in which
workspace, the paging maximum), opens the transaction, applies paging, calls
the store and lets domain errors (`NotFound`, `Conflict`, `Invalid`, `Busy`)
out. HTTP routes, the embedded client and the UI's data functions are
one-line calls into it, so an operation is written once. Operations are
synchronous; the server runs them off its event loop
(`runfolio.server.concurrency`). This is also where the caller's identity is
checked once accounts and API keys exist.
"""

from runfolio.ops.artifacts import (
    append_table_rows,
    count_artifacts,
    count_latest_artifacts,
    create_artifact,
    delete_artifact,
    filter_artifacts,
    filter_latest_artifacts,
    read_artifact,
    read_latest_artifact,
    update_artifact,
)
from runfolio.ops.context import Caller, Context
from runfolio.ops.logs import create_logs, read_logs
from runfolio.ops.runs import (
    add_flow_run,
    create_flow,
    create_flow_run,
    create_task_run,
    filter_flow_runs,
    filter_flows,
    filter_task_runs,
    read_flow,
    read_flow_run,
    read_flow_run_states,
    read_task_run,
    read_task_run_states,
    record_task_run_event,
    record_task_runs,
    set_flow_run_state,
    set_task_run_state,
)

__all__ = [
    "append_table_rows",
    "Caller",
    "add_flow_run",
    "Context",
    "count_artifacts",
    "count_latest_artifacts",
    "create_artifact",
    "create_flow",
    "create_flow_run",
    "create_logs",
    "create_task_run",
    "delete_artifact",
    "filter_artifacts",
    "filter_flow_runs",
    "filter_flows",
    "filter_latest_artifacts",
    "filter_task_runs",
    "read_artifact",
    "read_flow",
    "read_flow_run",
    "read_flow_run_states",
    "read_latest_artifact",
    "read_logs",
    "read_task_run",
    "read_task_run_states",
    "record_task_run_event",
    "record_task_runs",
    "set_flow_run_state",
    "set_task_run_state",
    "update_artifact",
]
