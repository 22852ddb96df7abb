"""A real `runfolio server start` process on 127.0.0.1."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ServerProcess, running_server

pytestmark = pytest.mark.server


def test_create_filter_delete_round_trip(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.api_url, timeout=10) as http:
        sent = {
            "key": "top-md",
            "type": "markdown",
            "description": "desc here",
            "data": "# Hello",
            "flow_run_id": None,
            "task_run_id": None,
        }
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
        assert [row["id"] for row in rows] == [second.json()["id"], first["id"]]
        assert http.get("/artifacts/top-md/latest").json()["id"] == second.json()["id"]

        assert http.delete(f"/artifacts/{second.json()['id']}").status_code == 204
        assert http.get("/artifacts/top-md/latest").json() == first
        assert http.delete(f"/artifacts/{first['id']}").status_code == 204
        assert http.get("/artifacts/top-md/latest").status_code == 404
        assert http.post("/artifacts/count").json() == 0
        assert http.post("/artifacts/latest/count").json() == 0


def _endless_chunks(total: int) -> Iterator[bytes]:
    yield b'{"key": "big", "data": "'
    sent = 0
    while sent < total:
        yield b"x" * 65536
        sent += 65536
    yield b'"}'


def test_streamed_body_over_the_limit_on_a_real_server(tmp_path: Path) -> None:
    limit = 64 * 1024
    extra = {"RUNFOLIO_MAX_BODY_BYTES": str(limit)}
    with running_server(tmp_path / "home", extra_env=extra) as proc:
        with httpx.Client(base_url=proc.api_url, timeout=10) as http:
            r = http.post(
                "/artifacts/",
                content=_endless_chunks(limit * 4),
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 413
            assert r.json() == {
                "detail": f"Request body is larger than the limit of {limit} bytes."
            }
            assert http.post("/artifacts/count").json() == 0
            # The server is still healthy and accepts bodies under the limit.
            ok = http.post("/artifacts/", json={"key": "small", "data": "x" * 1000})
            assert ok.status_code == 201


def test_sigterm_stops_the_server_and_the_data_survives(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_server(home) as proc:
        r = httpx.post(f"{proc.api_url}/artifacts/", json={"key": "kept", "data": "durable"})
        assert r.status_code == 201  # acknowledged means committed
        proc.process.send_signal(signal.SIGTERM)
        proc.process.wait(timeout=15)
        output = proc.process.stdout.read() if proc.process.stdout else ""
        assert "Traceback" not in output
    assert (home / "runfolio.db").exists()
    with running_server(home) as again:
        latest = httpx.get(f"{again.api_url}/artifacts/kept/latest")
        assert latest.status_code == 200
        assert latest.json()["id"] == r.json()["id"] and latest.json()["data"] == "durable"


def test_sigterm_exits_with_code_zero(tmp_path: Path) -> None:
    with running_server(tmp_path / "home") as proc:
        proc.process.send_signal(signal.SIGTERM)
        code = proc.process.wait(timeout=15)
        output = proc.process.stdout.read() if proc.process.stdout else ""
        assert code == 0, output
        assert "runfolio server stopped." in output
