"""A real `runfolio server start` process on 127.0.0.1."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runfolio.settings import Settings
from tests.servers import ServerProcess, running_server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process for the tests that do not stop it (they count relatively)."""
    with running_server(tmp_path_factory.mktemp("shared") / "home") as proc:
        yield proc


def test_create_filter_delete_round_trip(shared: ServerProcess) -> None:
    with httpx.Client(base_url=shared.api_url, timeout=10) as http:
        sent = {
            "key": "top-md",
            "type": "markdown",
            "description": "desc here",
            "data": "# Hello",
            "flow_run_id": None,
            "task_run_id": None,
        }
        count = http.post("/artifacts/count").json()
        keys = http.post("/artifacts/latest/count").json()
        # The reference client posts without the slash and follows the 307.
        r = http.post("/artifacts", json=sent, follow_redirects=True)
        assert r.status_code == 201
        first = r.json()
        assert {k: first[k] for k in sent} == sent
        second = http.post("/artifacts/", json={"key": "top-md", "type": "progress", "data": 100.0})
        assert '"data":100.0' in second.text

        body = {"sort": "CREATED_DESC", "limit": 5, "artifacts": {"key": {"exists_": True}}}
        rows = http.post(
            "/artifacts/filter", json=body, headers={"Authorization": "Bearer pnu_ghijk"}
        ).json()
        assert [row["id"] for row in rows][:2] == [second.json()["id"], first["id"]]
        assert http.get("/artifacts/top-md/latest").json()["id"] == second.json()["id"]

        assert http.delete(f"/artifacts/{second.json()['id']}").status_code == 204
        assert http.get("/artifacts/top-md/latest").json() == first
        assert http.delete(f"/artifacts/{first['id']}").status_code == 204
        assert http.get("/artifacts/top-md/latest").status_code == 404
        assert http.post("/artifacts/count").json() == count
        assert http.post("/artifacts/latest/count").json() == keys


def _endless_chunks(total: int) -> Iterator[bytes]:
    yield b'{"key": "big", "data": "'
    sent = 0
    while sent < total:
        yield b"x" * 65536
        sent += 65536
    yield b'"}'


def test_streamed_body_over_the_limit_on_a_real_server(shared: ServerProcess) -> None:
    limit = Settings.model_fields["max_body_bytes"].default
    with httpx.Client(base_url=shared.api_url, timeout=30) as http:
        count = http.post("/artifacts/count").json()
        r = http.post(
            "/artifacts/",
            content=_endless_chunks(limit + 65536),
            headers={"content-type": "application/json"},
        )
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.json() == {"detail": f"Request body is larger than the limit of {limit} bytes."}
        assert http.post("/artifacts/count").json() == count
        # The server is still healthy and accepts bodies under the limit.
        ok = http.post("/artifacts/", json={"key": "small", "data": "x" * 1000})
        assert ok.status_code == 201


# On the embedded SQLite file, whose survival it checks (the client suite's HTTP
# transport runs a real server on PostgreSQL).
def test_sigterm_exits_cleanly_and_the_data_survives(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_server(home) as proc:
        r = httpx.post(f"{proc.api_url}/artifacts/", json={"key": "kept", "data": "durable"})
        assert r.status_code == 201  # acknowledged means committed
        proc.process.send_signal(signal.SIGTERM)
        code = proc.process.wait(timeout=15)
        output = proc.process.stdout.read() if proc.process.stdout else ""
        assert code == 0, output
        assert "runfolio server stopped." in output
        assert "Traceback" not in output
    assert (home / "runfolio.db").exists()
    with running_server(home) as again:
        latest = httpx.get(f"{again.api_url}/artifacts/kept/latest")
        assert latest.status_code == 200
        assert latest.json()["id"] == r.json()["id"] and latest.json()["data"] == "durable"
