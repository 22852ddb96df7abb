"""The Dask side of `DaskTaskRunner`: a session in the flow process, and the function each
worker runs (imported only when a flow run starts a Dask runner: it imports distributed).

The flow process numbers the task run and names its parent; the worker records the run
itself (RUNNING → COMPLETED/FAILED, every attempt), with the worker's name in its
labels, in the store the flow process uses. A worker writes in the background, in
batches (its recorder's), not once per task: a synchronous write per task cost more than
the task itself (bench/dask_overhead.py). So when the session closes, after every future
is done, it has every worker write what it still holds for the flow run; then the store
has it all. A worker that dies mid-task cannot end its run: at that point the flow
process ends such runs CRASHED, naming the worker
and what Dask did next (ran the task again elsewhere, as a task run of its own, or gave
up with KilledWorker, which `result()` raises in the flow). Futures given as arguments
are passed to Dask as Dask futures, so the cluster resolves them without a trip through
the flow process.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import distributed

from runfolio._recorder import recorder_for
from runfolio._runlogs import flush as flush_logs
from runfolio.context import FlowRunContext, flow_run_context, task_run_context
from runfolio.futures import TaskFuture, unwrap
from runfolio.task_runners import DaskTaskRunner, StoreAddress, TaskRunnerSession

if TYPE_CHECKING:
    from runfolio.client.base import RunfolioClient
    from runfolio.schemas.runs import FlowRun
    from runfolio.tasks import Placement, Task


@dataclass(frozen=True)
class RemoteCall:
    """What a worker needs to record a task run as part of the flow run (pickled)."""

    store: StoreAddress
    flow_run: FlowRun
    flow_name: str
    log_prints: bool
    placement: Placement


class DaskSession(TaskRunnerSession):
    def __init__(self, runner: DaskTaskRunner, store: StoreAddress) -> None:
        self._store = store
        self._cluster: Any = None
        if runner.address is not None:
            self._client = distributed.Client(runner.address, **runner.client_kwargs)  # type: ignore[no-untyped-call]
        else:
            self._cluster = runner.resolved_cluster_class()(**runner.cluster_kwargs)
            try:
                self._client = distributed.Client(self._cluster, **runner.client_kwargs)  # type: ignore[no-untyped-call]
            except BaseException:
                self._cluster.close()
                raise
        self._lock = threading.Lock()
        self._futures: list[distributed.Future[Any]] = []
        self._flow_ctx: FlowRunContext | None = None
        # (task_key, dynamic_key) → its Dask future: what became of a lost run's task.
        self._by_place: dict[tuple[str, str], distributed.Future[Any]] = {}

    def submit(
        self, task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> TaskFuture[Any]:
        from runfolio.tasks import Placement

        flow_ctx = flow_run_context.get()
        assert flow_ctx is not None  # a session exists only inside a flow run
        parent = task_run_context.get()
        placement = Placement(
            index=flow_ctx.next_task_index(task.task_key),
            parent_task_run_id=parent.task_run_id if parent is not None else None,
        )
        call = RemoteCall(
            self._store, flow_ctx.flow_run, flow_ctx.flow_name, flow_ctx.log_prints, placement
        )
        future = self._client.submit(
            run_on_worker,
            call,
            task,
            unwrap(args),
            unwrap(kwargs),
            pure=False,  # every call is a task run of its own, even with equal arguments
            key=f"{task.name}-{placement.index}-{uuid.uuid4().hex}",
        )
        with self._lock:
            self._futures.append(future)
            self._flow_ctx = flow_ctx
            self._by_place[(task.task_key, str(placement.index))] = future
        return TaskFuture(future)

    def close(self) -> None:
        try:
            with self._lock:
                futures = list(self._futures)
            distributed.wait(futures)  # type: ignore[no-untyped-call]
            flow_ctx = self._flow_ctx
            if flow_ctx is not None:
                # Every live worker writes what it holds (artifacts were written at once);
                # after that the store has every task run and log of this flow run.
                self._client.run(
                    flush_on_worker, self._store, flow_ctx.flow_run, flow_ctx.flow_name
                )
                self._end_lost_runs(flow_ctx)
        finally:
            self._client.close()  # type: ignore[no-untyped-call]
            if self._cluster is not None:
                self._cluster.close()

    def _end_lost_runs(self, flow_ctx: FlowRunContext) -> None:
        """End CRASHED the task runs a dead worker left unfinished.

        Every future is done and every live worker has written what it held, so a run
        of this flow still RUNNING (or waiting for a retry) with a
        Dask worker in its labels is one whose worker process died mid-task.
        """
        from runfolio.schemas.bodies import TaskRunFilterBody
        from runfolio.schemas.common import new_id, utcnow
        from runfolio.schemas.filters import IdAnyIsNull, StateFilter, StrAnyNotAny, TaskRunFilter
        from runfolio.schemas.runs import StateCreate, StateType

        unfinished = TaskRunFilterBody(
            task_runs=TaskRunFilter(
                flow_run_id=IdAnyIsNull(any_=[flow_ctx.flow_run_id]),
                state=StateFilter(type=StrAnyNotAny(any_=["RUNNING", "SCHEDULED", "PENDING"])),
            )
        )
        while True:  # each run ended leaves the filter, so pages shrink to nothing
            lost = [
                run
                for run in flow_ctx.client.filter_task_runs(unfinished)
                if "dask.worker" in run.labels
            ]
            if not lost:
                return
            for run in lost:
                future = self._by_place.get((run.task_key, run.dynamic_key))
                message = (
                    f"Task run lost: Dask worker {run.labels['dask.worker']} "
                    f"({run.labels.get('dask.worker_address')}) died while running it. "
                    + _what_dask_did(future)
                )
                state = StateCreate(
                    id=new_id(),
                    type=StateType.CRASHED,
                    name="Crashed",
                    message=message.strip(),
                    timestamp=utcnow(),
                )
                flow_ctx.client.set_task_run_state(run.id, state)


def _what_dask_did(future: distributed.Future[Any] | None) -> str:
    if future is None:
        return ""
    if future.status == "finished":
        return "Dask ran it again on a live worker: see the task run of the same name."
    if future.status == "error":
        exc = future.exception()  # type: ignore[no-untyped-call]
        if isinstance(exc, distributed.KilledWorker):
            return f"Dask gave up: KilledWorker: {exc}"
        return "Dask ran it again, and that attempt failed: see the task run of the same name."
    return f"Its Dask task ended {future.status}."


# -- on the worker --------------------------------------------------------------------

_clients: dict[StoreAddress, RunfolioClient] = {}
_clients_lock = threading.Lock()


def _client_for(store: StoreAddress) -> RunfolioClient:
    """One client per store per worker process (connections are reused across tasks)."""
    from runfolio.client import client_for

    with _clients_lock:
        client = _clients.get(store)
        if client is None:
            client = _clients[store] = client_for(store.settings())
        return client


def run_on_worker(
    call: RemoteCall, task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> object:
    """Run and record one task run on a Dask worker. Its task run is written in the
    background within moments, its logs every 100 lines; `flush_on_worker` writes the rest
    when the flow's session closes."""
    worker = distributed.get_worker()
    client = _client_for(call.store)
    flow_ctx = FlowRunContext(
        flow_run=call.flow_run,
        flow_name=call.flow_name,
        client=client,
        is_async=False,
        log_prints=call.log_prints,
    )
    placement = call.placement.with_labels(
        {"dask.worker": str(worker.name), "dask.worker_address": worker.address}
    )
    flow_token = flow_run_context.set(flow_ctx)
    task_token = task_run_context.set(None)
    try:
        return task.run_placed(flow_ctx, placement, args, kwargs)
    finally:
        task_run_context.reset(task_token)
        flow_run_context.reset(flow_token)


def flush_on_worker(store: StoreAddress, flow_run: FlowRun, flow_name: str) -> None:
    """Write what this worker still holds of `flow_run` (its logs, its queued task runs)."""
    with _clients_lock:
        client = _clients.get(store)
    if client is None:  # this worker ran no task for this store
        return
    flow_ctx = FlowRunContext(
        flow_run=flow_run, flow_name=flow_name, client=client, is_async=False, log_prints=False
    )
    token = flow_run_context.set(flow_ctx)  # the log buffer writes through the context's client
    try:
        flush_logs(flow_run.id)
        recorder_for(client).flush()
    finally:
        flow_run_context.reset(token)
