"""A client owns its engine, connections, recorder and threads; `close()` releases them."""

from __future__ import annotations

import gc
import os
import resource
import threading
import uuid
from pathlib import Path

import pytest

from runfolio._attempts import StateNote
from runfolio._recorder import TaskRunStart
from runfolio.client import RunfolioClient, client_for
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.bodies import TaskRunFilterBody
from runfolio.schemas.common import utcnow
from runfolio.settings import Settings
from tests.servers import ServerProcess


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _use(client: RunfolioClient) -> None:
    """What a script does: write an artifact, read it back, record a task run."""
    created = client.create_artifact(ArtifactCreate(key="k", data="x"))
    assert client.read_artifact(created.id).data == "x"
    state = StateNote("COMPLETED", "Completed", None, utcnow())
    client.recorder.started(
        TaskRunStart(
            id=uuid.uuid4(),
            flow_run_id=None,
            name="t-0",
            task_key="t",
            dynamic_key="0",
            tags=[],
            labels=None,
            task_inputs={},
            empirical_policy={},
            running=state,
        )
    )


def _cycle(settings: Settings, times: int) -> None:
    for _ in range(times):
        client = client_for(settings)
        _use(client)
        client.close()


@pytest.mark.parametrize("transport", ["embedded", "http"])
def test_many_clients_leave_memory_files_and_threads_flat(
    transport: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if transport == "embedded":
        settings = Settings(home=tmp_path, api_url=None)
        rounds = 1000
    else:
        server: ServerProcess = request.getfixturevalue("module_server")
        settings = Settings(home=tmp_path, api_url=server.api_url, http_retries=0)
        rounds = 300  # four round trips each: the server's time, not the client's
    _cycle(settings, 20)  # warm caches (statement caches, pydantic, imports)
    gc.collect()
    files, threads, rss = _open_files(), threading.active_count(), _rss_bytes()
    _cycle(settings, rounds)
    gc.collect()
    grown = _rss_bytes() - rss
    assert _open_files() <= files + 2
    assert threading.active_count() <= threads
    # A client that kept its engine, pool or recorder would hold ~100 KiB or more:
    # a thousand of them would show as 100 MiB, well past the allocator's noise.
    assert grown < 24 * 1024 * 1024, f"{grown / 2**20:.1f} MiB kept after {rounds} clients"
    # Everything the clients recorded was written before they closed.
    reader = client_for(settings)
    try:
        assert len(reader.filter_task_runs(TaskRunFilterBody(limit=10))) == 10
    finally:
        reader.close()
