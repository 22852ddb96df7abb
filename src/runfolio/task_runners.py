"""Task runners: where `Task.submit()` and `Task.map()` run a task inside a flow run.

`@flow(task_runner=...)` picks one; the default is `ThreadPoolTaskRunner()`, threads
of this process. `DaskTaskRunner` runs tasks on a Dask cluster (the `dask` extra:
`pip install "runfolio[dask]"`); it is imported from here, but Dask itself is only
imported when a flow run starts one, so `import runfolio` stays light.

Each flow run attempt starts a session of its runner (`start`), submits through it,
and closes it after its function returned: closing waits for every task run it
submitted, so all of them are recorded before the flow run's final state.
"""

from __future__ import annotations

import contextvars
import importlib
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfolio.errors import SettingsError
from runfolio.futures import TaskFuture, resolve
from runfolio.futures import wait as wait_futures

if TYPE_CHECKING:
    from runfolio.settings import Settings
    from runfolio.tasks import Task

__all__ = [
    "DaskTaskRunner",
    "StoreAddress",
    "TaskRunner",
    "TaskRunnerSession",
    "ThreadPoolTaskRunner",
]


@dataclass(frozen=True)
class StoreAddress:
    """How a task run elsewhere reaches the flow's store: its server, or its database."""

    api_url: str | None
    api_key: str | None
    home: str
    database_url: str | None

    @classmethod
    def of(cls, settings: Settings) -> StoreAddress:
        return cls(settings.api_url, settings.api_key, str(settings.home), settings.database_url)

    def settings(self) -> Settings:
        from runfolio.settings import load_settings

        return load_settings(
            api_url=self.api_url,
            api_key=self.api_key,
            home=self.home,
            database_url=self.database_url,
        )


class TaskRunnerSession(ABC):
    """A runner at work for one flow run attempt."""

    @abstractmethod
    def submit(
        self, task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> TaskFuture[Any]: ...

    @abstractmethod
    def close(self) -> None:
        """Wait for every task run submitted, then release what the session holds."""


class TaskRunner(ABC):
    """A task runner's configuration (one instance serves every run of its flow)."""

    def check(self, store: StoreAddress) -> None:
        """Refuse, before the flow run starts, a store this runner's tasks cannot reach."""
        return None  # threads of this process reach whatever it reaches

    @abstractmethod
    def start(self, store: StoreAddress) -> TaskRunnerSession: ...


# -- threads --------------------------------------------------------------------------

_shared_pool: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process's task thread pool (also used by `submit` outside a flow)."""
    global _shared_pool
    with _shared_lock:
        if _shared_pool is None:
            _shared_pool = ThreadPoolExecutor(thread_name_prefix="runfolio-task")
        return _shared_pool


def submit_to_thread(
    pool: ThreadPoolExecutor, task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TaskFuture[Any]:
    """Run the task in `pool` with a copy of the run context; futures among its arguments
    are waited for in that thread (upstream tasks were queued first, so no deadlock)."""
    ctx = contextvars.copy_context()

    def call() -> object:
        return task.call_now(resolve(args), resolve(kwargs))

    future: Future[Any] = pool.submit(ctx.run, call)
    return TaskFuture(future)


class _ThreadSession(TaskRunnerSession):
    def __init__(self, pool: ThreadPoolExecutor, owned: bool) -> None:
        self._pool = pool
        self._owned = owned
        self._futures: list[TaskFuture[Any]] = []

    def submit(
        self, task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> TaskFuture[Any]:
        future = submit_to_thread(self._pool, task, args, kwargs)
        self._futures.append(future)
        return future

    def close(self) -> None:
        wait_futures(self._futures)
        if self._owned:
            self._pool.shutdown(wait=True)


class ThreadPoolTaskRunner(TaskRunner):
    """Tasks run in threads of the flow's process (the default).

    Without `max_workers`, the process's shared pool; with it, a pool of that size per
    flow run attempt.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError("max_workers must be 1 or more")
        self.max_workers = max_workers

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers!r})"

    def start(self, store: StoreAddress) -> TaskRunnerSession:
        if self.max_workers is None:
            return _ThreadSession(shared_pool(), owned=False)
        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="runfolio-task")
        return _ThreadSession(pool, owned=True)


# -- Dask -----------------------------------------------------------------------------


class DaskTaskRunner(TaskRunner):
    """Tasks run on a Dask cluster (needs `pip install "runfolio[dask]"`).

    Without `address`, each flow run attempt starts a temporary cluster,
    `cluster_class(**cluster_kwargs)` (default `distributed.LocalCluster`; a class or its
    dotted path), and closes it at the end; with `address="tcp://host:8786"` it uses that
    running cluster. `client_kwargs` go to `distributed.Client`.

    Every task run is recorded from the worker, with its logs and artifacts, in the flow's
    store: over HTTP when RUNFOLIO_API_URL is set; else in the same database file, which
    only a cluster on this machine can reach (a remote `address` is refused).
    """

    def __init__(
        self,
        address: str | None = None,
        cluster_class: str | type[Any] | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if address is not None and (cluster_class is not None or cluster_kwargs):
            raise ValueError("give either address or cluster_class/cluster_kwargs, not both")
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})

    def __repr__(self) -> str:
        return f"DaskTaskRunner(address={self.address!r}, cluster_class={self.cluster_class!r})"

    def resolved_cluster_class(self) -> type[Any]:
        """The cluster class to start: the one given, its dotted path imported, or
        `distributed.LocalCluster`."""
        spec = self.cluster_class or "distributed.LocalCluster"
        if not isinstance(spec, str):
            return spec
        module_name, _, attr = spec.rpartition(".")
        if not module_name:
            raise ValueError(f"cluster_class {spec!r} is not a dotted path (module.Class)")
        cls = getattr(importlib.import_module(module_name), attr)
        if not isinstance(cls, type):
            raise TypeError(f"cluster_class {spec!r} is not a class")
        return cls

    def check(self, store: StoreAddress) -> None:
        if self.address is not None and store.api_url is None:
            raise SettingsError(
                f"DaskTaskRunner(address={self.address!r}) runs tasks on a cluster that "
                "cannot write to this process's embedded database "
                f"({store.database_url or store.home}). Set RUNFOLIO_API_URL (and "
                "RUNFOLIO_API_KEY if needed) to a runfolio server the workers can reach."
            )

    def start(self, store: StoreAddress) -> TaskRunnerSession:
        from runfolio._dask import DaskSession  # imports distributed

        return DaskSession(self, store)
