"""The client outbox against real server processes: killed (-9), stopped, frozen (SIGSTOP).

Flows run in child processes (as users run them), so every test starts from a fresh
process-wide client and exercises the end-of-flow drain and the exit path. What the
server stored is then read back through the HTTP client and checked one by one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from runfolio.client import client_for
from runfolio.client.http import HttpClient
from runfolio.client.outbox import Outbox, default_path, owner_token
from runfolio.client.sender import Sender
from runfolio.errors import NotFound, OutboxError, OutboxFull, ServerUnreachable
from runfolio.schemas.artifacts import Artifact, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import ArtifactCountBody, ArtifactFilterBody, TaskRunFilterBody
from runfolio.schemas.common import new_id
from runfolio.schemas.filters import ArtifactFilter, IdAny
from runfolio.schemas.runs import FlowCreate, Log, State, StateCreate, StateType, TaskRun
from runfolio.settings import Settings
from tests.servers import ServerProcess, free_port, running_server

# A flow of N tasks; each creates a progress artifact, moves it to 100 in steps, creates
# a keyed markdown artifact and logs a line. Prints the flow run id and task timings.
FLOW_SCRIPT = """
import json, statistics, sys, time
from runfolio import flow, task, get_run_logger
from runfolio.artifacts import (
    create_markdown_artifact, create_progress_artifact, update_progress_artifact,
)
from runfolio.context import flow_run_context

N, SLEEP = int(sys.argv[1]), float(sys.argv[2])
costs = []

@task
def step(i: int) -> None:
    t = time.perf_counter()
    progress = create_progress_artifact(0.0, key=f"progress-{i}")
    for value in (25, 50, 75, 100):
        update_progress_artifact(progress, value)
    create_markdown_artifact(f"report {i}", key=f"report-{i}")
    get_run_logger().info("step %d done", i)
    costs.append(time.perf_counter() - t)
    time.sleep(SLEEP)

@flow(name="outbox-flow")
def run() -> str:
    for i in range(N):
        step(i)
    return str(flow_run_context.get().flow_run_id)

started = time.monotonic()
run_id = run()
print(json.dumps({
    "run_id": run_id,
    "seconds": time.monotonic() - started,
    "median_step_ms": statistics.median(costs) * 1000,
}))
"""


def _run_flow(
    tmp_path: Path, api_url: str, home: Path, n: int, sleep: float, **env: str
) -> subprocess.Popen[str]:
    script = tmp_path / "flow_script.py"
    script.write_text(FLOW_SCRIPT)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    child_env.update({"RUNFOLIO_API_URL": api_url, "RUNFOLIO_HOME": str(home), **env})
    return subprocess.Popen(
        [sys.executable, str(script), str(n), str(sleep)],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float) -> tuple[dict[str, float | str], str]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def _cli(home: Path, *args: str, api_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env.update({"RUNFOLIO_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"})
    if api_url:
        env["RUNFOLIO_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "runfolio.cli", "outbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _reader(api_url: str, tmp_path: Path) -> HttpClient:
    client = client_for(Settings(home=tmp_path / "reader", api_url=api_url))
    assert isinstance(client, HttpClient)
    return client


def _all_artifacts(client: HttpClient, run_id: uuid.UUID) -> list[Artifact]:
    found: list[Artifact] = []
    while True:
        page = client.filter_artifacts(
            ArtifactFilterBody(
                artifacts=ArtifactFilter(flow_run_id=IdAny(any_=[run_id])),
                limit=200,
                offset=len(found),
            )
        )
        found.extend(page)
        if len(page) < 200:
            return found


def _all_task_runs(client: HttpClient, run_id: uuid.UUID) -> list[TaskRun]:
    found: list[TaskRun] = []
    while True:
        body = TaskRunFilterBody.model_validate(
            {"flow_runs": {"id": {"any_": [str(run_id)]}}, "limit": 200, "offset": len(found)}
        )
        page = client.filter_task_runs(body)
        found.extend(page)
        if len(page) < 200:
            return found


def _all_logs(client: HttpClient, run_id: uuid.UUID) -> list[Log]:
    found: list[Log] = []
    while True:
        body = {
            "logs": {"flow_run_id": {"any_": [str(run_id)]}},
            "limit": 200,
            "offset": len(found),
        }
        page = [Log.model_validate(x) for x in client._request("POST", "logs/filter", body).json()]
        found.extend(page)
        if len(page) < 200:
            return found


def _check_stored_once(
    client: HttpClient, run_id: uuid.UUID, n: int
) -> tuple[list[TaskRun], list[Log], list[State]]:
    """Everything the flow wrote is on the server, each thing exactly once."""
    artifacts = _all_artifacts(client, run_id)
    keys = sorted(a.key or "" for a in artifacts)
    assert len(artifacts) == 2 * n, f"{len(artifacts)} artifacts for {n} tasks"
    assert keys == sorted([f"progress-{i}" for i in range(n)] + [f"report-{i}" for i in range(n)])
    assert len({a.id for a in artifacts}) == 2 * n
    progress = [a for a in artifacts if a.type == "progress"]
    assert {a.data for a in progress} == {100.0}  # the last update won everywhere
    task_runs = _all_task_runs(client, run_id)
    assert len(task_runs) == n and len({t.id for t in task_runs}) == n
    assert {t.state_type for t in task_runs} == {StateType.COMPLETED}
    for task_run in task_runs:
        types = [s.type for s in client.read_task_run_states(task_run.id)]
        assert types == [StateType.RUNNING, StateType.COMPLETED], types
    logs = _all_logs(client, run_id)
    messages = sorted(log.message for log in logs)
    assert messages == sorted(f"step {i} done" for i in range(n))
    run = client.read_flow_run(run_id)
    assert run.state_type == StateType.COMPLETED
    states = client.read_flow_run_states(run_id)
    assert [s.type for s in states] == [
        StateType.PENDING,
        StateType.RUNNING,
        StateType.COMPLETED,
    ]
    return task_runs, logs, states


@pytest.fixture
def server_home(tmp_path: Path) -> Path:
    home = tmp_path / "server"
    home.mkdir()
    return home


def test_server_killed_mid_flow_and_restarted(tmp_path: Path, server_home: Path) -> None:
    n = 200
    port = free_port()
    client_home = tmp_path / "client"
    with running_server(server_home, port=port) as first:
        reader = _reader(first.api_url, tmp_path)
        flow = _run_flow(tmp_path, first.api_url, client_home, n, 0.02)
        # Kill -9 once the flow is well under way (some reports are stored).
        deadline = time.monotonic() + 30
        while reader.count_artifacts(_reports()) < 40:
            assert time.monotonic() < deadline and flow.poll() is None
            time.sleep(0.02)
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        killed_at = time.time()
        time.sleep(5)
        restarted_at = time.time()
        with running_server(server_home, port=port):
            result, err = _finish(flow, timeout=90)
            run_id = uuid.UUID(str(result["run_id"]))
            # The flow waited for its outbox at the end: nothing is left behind.
            assert "still queued" not in err
            assert "queued in" in err  # it said the writes were being queued
            assert Outbox(default_path(client_home), 1 << 30).count(first.api_url) == 0
            task_runs, logs, states = _check_stored_once(reader, run_id, n)
            # Written while the server was down, stored with the times they happened.
            outage = [t for t in task_runs if t.start_time and killed_at < t.start_time.timestamp()]
            assert outage, "no task ran while the server was down"
            assert all(t.start_time.timestamp() < restarted_at for t in outage if t.start_time)
            assert sum(killed_at < log.timestamp.timestamp() < restarted_at for log in logs) > 0
            # Artifacts made during the outage keep when they were made, not their delivery.
            made = [a.created.timestamp() for a in _all_artifacts(reader, run_id)]
            assert sum(killed_at < t < restarted_at for t in made) > 0
            assert states[-1].timestamp.timestamp() < time.time()
        reader.close()


def _reports() -> ArtifactCountBody:
    return ArtifactCountBody.model_validate({"artifacts": {"type": {"any_": ["markdown"]}}})


def test_server_down_for_the_whole_flow_then_cli_flush(tmp_path: Path, server_home: Path) -> None:
    n = 30
    port = free_port()
    client_home = tmp_path / "client"
    with running_server(server_home, port=port) as first:
        api_url = first.api_url
        reader = _reader(api_url, tmp_path)
        # The flow exists on the server already: the id the offline client invents for it
        # must be mapped to this one in everything queued after it.
        stored_flow = reader.create_flow(FlowCreate(name="outbox-flow"))
    flow = _run_flow(tmp_path, api_url, client_home, n, 0.0, RUNFOLIO_OUTBOX_DRAIN_SECONDS="0.5")
    result, err = _finish(flow, timeout=60)
    # Queued on disk, a task's six writes cost milliseconds, not a connection attempt each
    # (test_spooling_a_write_costs_under_a_millisecond measures one write on its own).
    assert float(result["median_step_ms"]) < 10.0, result
    assert "still queued" in err and "runfolio outbox flush" in err
    # The first call's imports, 30 tasks and a drain of 0.5 s: no waiting on the server.
    assert float(result["seconds"]) < 10.0
    status = json.loads(_cli(client_home, "status", "-o", "json").stdout)
    [queued] = status["targets"]
    assert queued["target"] == api_url and queued["records"] > 0 and queued["rejected"] == 0
    # Progress updates merged: one create and one update per progress artifact, at most.
    body = sqlite3.connect(default_path(client_home)).execute(
        "SELECT count(*) FROM records WHERE method = 'PATCH'"
    )
    assert body.fetchone()[0] == n
    with running_server(server_home, port=port):
        done = _cli(client_home, "flush", "--timeout", "60", api_url=api_url)
        assert done.returncode == 0, done.stderr
        assert "nothing left" in done.stdout
        run_id = uuid.UUID(str(result["run_id"]))
        _check_stored_once(reader, run_id, n)
        assert reader.read_flow_run(run_id).flow_id == stored_flow.id
        assert json.loads(_cli(client_home, "status", "-o", "json").stdout)["targets"] == []
    reader.close()


def test_a_frozen_server_delays_the_flow_only_by_the_drain_bound(
    tmp_path: Path, server_home: Path
) -> None:
    client_home = tmp_path / "client"
    with running_server(server_home) as server:
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            flow = _run_flow(
                tmp_path,
                server.api_url,
                client_home,
                10,
                0.0,
                RUNFOLIO_OUTBOX_DRAIN_SECONDS="2",
                RUNFOLIO_HTTP_WRITE_TIMEOUT="1",
            )
            result, err = _finish(flow, timeout=60)
            # One write waits for the write timeout (1 s), the rest are queued at once, the
            # end waits 2 s; with the first call's imports, the flow stays under 8 s (it
            # blocked for minutes before the outbox), the process (start, exit) under 20 s.
            assert float(result["seconds"]) < 8.0
            assert time.monotonic() - started < 20.0
            assert "still queued" in err
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        done = _cli(client_home, "flush", "--timeout", "60", api_url=server.api_url)
        assert done.returncode == 0, done.stderr
        reader = _reader(server.api_url, tmp_path)
        _check_stored_once(reader, uuid.UUID(str(result["run_id"])), 10)
        reader.close()


def _offline_client(home: Path, url: str, **settings: object) -> HttpClient:
    client = client_for(Settings(home=home, api_url=url, **settings))  # type: ignore[arg-type]
    assert isinstance(client, HttpClient)
    return client


def test_the_sender_killed_mid_delivery_duplicates_nothing(
    tmp_path: Path, server_home: Path
) -> None:
    n = 300
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    client_home = tmp_path / "client"
    client = _offline_client(client_home, url)
    body = "x" * 2000
    ids = [client.create_artifact(_markdown(f"k-{i}", body)).id for i in range(n)]
    client.close()
    assert Outbox(default_path(client_home), 1 << 30).count(url) == n
    with running_server(server_home, port=port):
        reader = _reader(url, tmp_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
        env.update({"RUNFOLIO_HOME": str(client_home)})
        sender = subprocess.Popen(
            [sys.executable, "-m", "runfolio.cli", "outbox", "flush"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while reader.count_artifacts(_reports()) < 30:
            assert time.monotonic() < deadline and sender.poll() is None
            time.sleep(0.005)
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
        left = Outbox(default_path(client_home), 1 << 30).count(url)
        assert 0 < left < n  # killed in the middle
        done = _cli(client_home, "flush")
        assert done.returncode == 0, done.stderr
        stored = _all_keyed(reader, n)
        assert sorted(a.id for a in stored) == sorted(ids)  # each exactly once
        reader.close()


def _all_keyed(client: HttpClient, n: int) -> list[Artifact]:
    found: list[Artifact] = []
    while len(found) <= n:
        page = client.filter_artifacts(ArtifactFilterBody(limit=200, offset=len(found)))
        found.extend(page)
        if len(page) < 200:
            break
    return found


def _markdown(key: str, data: str = "x") -> ArtifactCreate:
    return ArtifactCreate(id=new_id(), key=key, type="markdown", data=data)


def test_queued_updates_merge_and_keep_their_order(tmp_path: Path, server_home: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    client = _offline_client(tmp_path / "client", url)
    progress = client.create_artifact(
        ArtifactCreate(id=new_id(), key="p", type="progress", data=0.0)
    )
    assert progress.data == 0.0 and progress.key == "p"  # answered locally
    for value in range(1, 51):
        client.update_artifact(progress.id, ArtifactUpdate(data=float(value)))
    client.update_artifact(progress.id, ArtifactUpdate(description="done"))
    box = Outbox(default_path(tmp_path / "client"), 1 << 30)
    rows = box.head(url, 10)
    assert [r.method for r in rows] == ["POST", "PATCH"]  # the create first, one update
    assert json.loads(rows[1].body or b"") == {"data": 50.0, "description": "done"}
    with running_server(server_home, port=port):
        assert client.drain_outbox() == 0
        stored = client.read_artifact(progress.id)
        assert stored.data == 50.0 and stored.description == "done"
        # Drained: writes go straight to the server again.
        client.update_artifact(progress.id, ArtifactUpdate(data=99.0))
        assert box.count(url) == 0
        assert client.read_artifact(progress.id).data == 99.0
    client.close()


def test_refused_writes_raise_and_are_not_queued(
    tmp_path: Path, module_server: ServerProcess
) -> None:
    client = _offline_client(tmp_path, module_server.api_url)
    # A 4xx is the server's answer about the request: raised as before, never queued.
    with pytest.raises(NotFound):
        client.update_artifact(new_id(), ArtifactUpdate(data=1.0))
    with pytest.raises(NotFound):
        client.set_flow_run_state(new_id(), StateCreate(type=StateType.RUNNING))
    assert not default_path(tmp_path).exists()  # nothing was queued
    client.close()


def test_reads_are_not_queued_and_name_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    client = _offline_client(tmp_path, url, http_timeout=2.0)
    client.create_artifact(_markdown("k"))  # queued
    started = time.monotonic()
    with pytest.raises(ServerUnreachable) as caught:
        client.read_latest_artifact("k")
    assert time.monotonic() - started < 4.0
    assert url in str(caught.value) and "reads cannot be queued" in str(caught.value)
    client.close()


def test_a_full_outbox_is_an_error_not_a_silent_drop(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    client = _offline_client(tmp_path, url, outbox_max_bytes=256 * 1024)
    queued = 0
    with pytest.raises(OutboxFull, match="RUNFOLIO_OUTBOX_MAX_BYTES"):
        for i in range(200):
            client.create_artifact(_markdown(f"k-{i}", "y" * 8000))
            queued += 1
    assert 10 < queued < 200
    assert Outbox(default_path(tmp_path), 1 << 30).count(url) == queued  # all kept
    client.close()


@pytest.mark.parametrize("kind", ["garbage", "foreign-sqlite", "newer"])
def test_a_corrupt_or_foreign_outbox_is_refused_and_kept(tmp_path: Path, kind: str) -> None:
    path = default_path(tmp_path)
    if kind == "garbage":
        path.write_bytes(os.urandom(8192))
    else:
        conn = sqlite3.connect(path)
        if kind == "foreign-sqlite":
            conn.execute("CREATE TABLE things (a)")
        else:
            conn.execute("CREATE TABLE runfolio_outbox (format TEXT, version INTEGER)")
            conn.execute("INSERT INTO runfolio_outbox VALUES ('runfolio-outbox', 99)")
        conn.commit()
        conn.close()
    before = path.read_bytes()
    url = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(OutboxError) as caught:
        client_for(Settings(home=tmp_path, api_url=url))
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox.db"]


def test_one_delivery_lease_per_target(tmp_path: Path) -> None:
    box = Outbox(default_path(tmp_path), 1 << 30)
    me, other = owner_token(), owner_token()
    assert box.claim("http://a/api", me, 60)
    assert not box.claim("http://a/api", other, 60)  # a live holder keeps it
    assert box.claim("http://b/api", other, 60)  # another target is free
    # A holder whose process is gone frees the lease at once (kill -9).
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = owner_token().split(":")[0]
    box.release("http://a/api", me)
    assert box.claim("http://a/api", f"{host}:{dead.pid}:x", 60)
    assert box.claim("http://a/api", other, 60)


def test_spooling_a_write_costs_under_a_millisecond(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    client = _offline_client(tmp_path, url)
    client.create_artifact(_markdown("warm-up"))  # the first one finds the server down
    costs = []
    for i in range(300):
        action = _markdown(f"k-{i}", "report " * 100)
        started = time.perf_counter()
        client.create_artifact(action)
        costs.append(time.perf_counter() - started)
    costs.sort()
    assert costs[len(costs) // 2] < 0.001, costs[len(costs) // 2]
    client.close()


def test_a_drained_outbox_gives_its_space_back(tmp_path: Path) -> None:
    box = Outbox(default_path(tmp_path), 1 << 30)
    for _ in range(500):
        box.append("http://a/api", "POST", "artifacts/", b"x" * 2000)
    pages = sqlite3.connect(default_path(tmp_path)).execute("PRAGMA page_count")
    assert pages.fetchone()[0] > 250
    for record in box.head("http://a/api", 1000):
        box.delivered(record.seq)
    box.forget_ids("http://a/api")
    pages = sqlite3.connect(default_path(tmp_path)).execute("PRAGMA page_count")
    assert pages.fetchone()[0] < 50


class _CountingPeer(BaseHTTPRequestHandler):
    """Takes every create (slowly), counting how often each id arrives."""

    seen: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        time.sleep(0.002)
        with self.lock:
            self.seen[body["id"]] = self.seen.get(body["id"], 0) + 1
        payload = json.dumps(body).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


def test_two_senders_never_both_send_a_record(tmp_path: Path) -> None:
    peer = ThreadingHTTPServer(("127.0.0.1", 0), _CountingPeer)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{peer.server_address[1]}/api"
    path = default_path(tmp_path)
    queued = Outbox(path, 1 << 30)
    ids = [str(new_id()) for _ in range(200)]
    for record_id in ids:
        queued.append(url, "POST", "artifacts/", json.dumps({"id": record_id}).encode())
    # Two deliverers, each with its own connection to the file (as two processes have).
    senders = [Sender(Outbox(path, 1 << 30), url, None, 5.0) for _ in range(2)]
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda s=s: results.append(s.deliver(time.monotonic() + 30).delivered)
        )
        for s in senders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peer.shutdown()
    peer.server_close()
    assert sorted(_CountingPeer.seen) == sorted(ids)
    assert set(_CountingPeer.seen.values()) == {1}  # no record was sent twice
    assert sum(results) == 200 and queued.count(url) == 0
