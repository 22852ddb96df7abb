"""`runfolio server start --workers N`: several server processes on one port and one database.

Which worker holds a connection is read from /proc (Linux): the server side of the
client's TCP connection is a socket that exactly one worker process has open. Nothing
new is exposed over HTTP for it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from runfolio.cli import app
from runfolio.schemas.common import new_id
from runfolio.settings import MAX_SERVER_WORKERS
from tests.servers import ServerProcess, running_server

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

WORKERS = 2
THREADS = 4
CREATES_PER_THREAD = 24
KEYS = ("workers-a", "workers-b", "workers-c")
DEADLINE_S = 25  # every wait of the test is bounded by this, counted from its start


def _worker_pids(server_pid: int) -> set[int]:
    """The server's worker processes: its children started by multiprocessing's spawn."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"--multiprocessing-fork" in cmdline:
            pids.add(int(entry))
    return pids


def _owner(response: httpx.Response, server_port: int, pids: set[int]) -> int | None:
    """The worker whose accepted socket is the other end of this response's connection."""
    _host, client_port = response.extensions["network_stream"].get_extra_info("client_addr")
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if local_port == server_port and remote_port == client_port:
            inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


def _pinned_clients(
    server: ServerProcess, pids: set[int], per_worker: int, deadline: float
) -> dict[int, list[httpx.Client]]:
    """Clients of one keep-alive connection each, grouped by the worker that accepted it."""
    port = int(server.url.rsplit(":", 1)[1])
    by_worker: dict[int, list[httpx.Client]] = {pid: [] for pid in pids}
    spare: list[httpx.Client] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    while any(len(clients) < per_worker for clients in by_worker.values()):
        assert time.monotonic() < deadline, f"workers did not all answer: {by_worker}"
        client = httpx.Client(base_url=server.api_url, limits=limits, timeout=10)
        response = client.get("/health")
        assert response.status_code == 200
        owner = _owner(response, port, pids)
        assert owner is not None, "no worker holds the connection"
        if len(by_worker[owner]) < per_worker:
            by_worker[owner].append(client)
        else:
            spare.append(client)
    for client in spare:
        client.close()
    return by_worker


def _send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, re-sent as is while the server answers 503 (busy: nothing written)."""
    for _ in range(20):
        response = client.request(method, url, **kwargs)
        if response.status_code != 503:
            return response
        time.sleep(0.05)
    return response


def test_two_workers_share_one_sqlite_database(tmp_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    with running_server(tmp_path / "home", args=["--workers", str(WORKERS)]) as server:
        server_pid = server.process.pid
        port = int(server.url.rsplit(":", 1)[1])
        pids = _worker_pids(server_pid)
        assert len(pids) == WORKERS

        # (a) both workers answer, each on connections it accepted itself.
        by_worker = _pinned_clients(server, pids, THREADS, deadline)
        clients = list(by_worker.values())
        try:
            acknowledged: dict[uuid.UUID, str] = {}  # id -> key
            deleted: set[uuid.UUID] = set()
            writers: dict[int, int] = {pid: 0 for pid in pids}
            failures: list[str] = []
            lock = threading.Lock()

            def work(thread: int) -> None:
                # This thread's two connections, one to each worker; writes alternate.
                pair = (clients[0][thread], clients[1][thread])
                for n in range(CREATES_PER_THREAD):
                    here, there = pair[n % 2], pair[(n + 1) % 2]
                    key = KEYS[(thread + n) % len(KEYS)]
                    body = {"id": str(new_id()), "key": key, "type": "markdown", "data": f"{n}"}
                    created = _send(here, "POST", "/artifacts/", json=body)
                    if created.status_code != 201:
                        failures.append(f"create {created.status_code}: {created.text}")
                        return
                    artifact_id = uuid.UUID(created.json()["id"])
                    owner = _owner(created, port, pids)
                    with lock:
                        acknowledged[artifact_id] = key
                        if owner is not None:
                            writers[owner] += 1
                    if n % 3 == 0:  # a retried create, through the other worker: stored once
                        again = _send(there, "POST", "/artifacts/", json=body)
                        if again.status_code != 200 or again.json()["id"] != body["id"]:
                            failures.append(f"re-sent create {again.status_code}: {again.text}")
                            return
                    if n % 5 == 4:  # some versions deleted through the other worker
                        gone = _send(there, "DELETE", f"/artifacts/{artifact_id}")
                        if gone.status_code != 204:
                            failures.append(f"delete {gone.status_code}: {gone.text}")
                            return
                        with lock:
                            del acknowledged[artifact_id]
                            deleted.add(artifact_id)

            threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic()))
            assert not any(thread.is_alive() for thread in threads), "writers did not finish"
            assert not failures, failures
            assert all(count > 0 for count in writers.values()), writers

            # (b) every acknowledged version is stored exactly once, nothing deleted is left,
            # and each key's latest is its newest remaining version.
            http = clients[0][0]
            rows = http.post("/artifacts/filter", json={"limit": 200}).json()
            stored = [uuid.UUID(row["id"]) for row in rows]
            assert len(stored) == len(set(stored))
            assert set(stored) == set(acknowledged)
            assert not deleted & set(stored)
            assert len(stored) == THREADS * CREATES_PER_THREAD - len(deleted)
            for key in KEYS:
                versions = [row for row in rows if row["key"] == key]
                newest = max(versions, key=_store_order)
                for pinned in (clients[0][0], clients[1][0]):  # the same answer from each worker
                    latest = pinned.get(f"/artifacts/{key}/latest")
                    assert latest.status_code == 200
                    assert latest.json()["id"] == newest["id"], key
        finally:
            for group in clients:
                for client in group:
                    client.close()

        # (c) SIGTERM stops every worker and the server exits 0.
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        output = server.process.stdout.read() if server.process.stdout else ""
        assert code == 0, output
        assert "runfolio server stopped." in output
        assert "Traceback" not in output
        for pid in pids:
            assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"worker {pid} left"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("value", ["0", "-1", str(MAX_SERVER_WORKERS + 1)])
def test_a_bad_worker_count_is_a_clear_error(value: str, tmp_path: Path) -> None:
    env = {"RUNFOLIO_HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["server", "start", "--workers", value], env=env)
    assert result.exit_code == 2
    assert "Invalid value for '--workers'" in result.output
    assert not (tmp_path / "runfolio.db").exists()  # nothing started


@pytest.mark.parametrize("value", ["0", "-3", str(MAX_SERVER_WORKERS + 1), "many"])
def test_a_bad_workers_setting_is_a_clear_error(value: str, tmp_path: Path) -> None:
    env = {"RUNFOLIO_HOME": str(tmp_path), "RUNFOLIO_SERVER_WORKERS": value, "NO_COLOR": "1"}
    result = CliRunner().invoke(app, ["server", "start"], env=env)
    assert result.exit_code == 1
    assert "RUNFOLIO_SERVER_WORKERS" in result.output
    assert not (tmp_path / "runfolio.db").exists()


def _store_order(row: dict[str, Any]) -> tuple[dt.datetime, str]:
    """The store's order of a key's versions: created, then id (the later is the newer)."""
    return dt.datetime.fromisoformat(row["created"]), row["id"]
