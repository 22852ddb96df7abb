"""`GET /api/ui/stream` against real server processes: two servers on one SQLite file
(a change made through one reaches a stream open on the other), resuming with
Last-Event-ID, one workspace's changes only, the per-process stream limit, bad
input, a clean stop with streams open; and `--workers 2` on PostgreSQL."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from runfolio.ops.access import Role
from runfolio.server.ui import stream as stream_module
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from runfolio.store.tables import changes as changes_table
from tests.pg import PostgresServer
from tests.servers import ServerProcess, running_server

pytestmark = pytest.mark.server

MAX_STREAMS = 3
OTHER = "/api/accounts/acme-other/workspaces/live"
OTHER_COOKIE = {"Cookie": "runfolio_workspace=acme-other/live"}


@dataclass
class Pair:
    reader: ServerProcess  # where the streams are open
    writer: ServerProcess  # where the writes go


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    home = tmp_path_factory.mktemp("live") / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    with write(engine) as conn:
        workspaces.create(conn, "acme-other/live")
    engine.dispose()
    limit = {"RUNFOLIO_LIVE_STREAMS": str(MAX_STREAMS)}
    with running_server(home, limit) as reader, running_server(home) as writer:
        yield Pair(reader, writer)


class Stream:
    """An open event stream, read line by line (each read bounded by the client timeout)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def ready(self) -> None:
        """Read up to the stream's opening comment: the server is subscribed."""
        for line in self.lines:
            if line == ": live":
                return
        raise AssertionError("the stream ended before it opened")

    def next_change(self) -> dict[str, Any]:
        event: dict[str, str] = {}
        for line in self.lines:
            if not line:
                if event.get("event") == "change":
                    data = json.loads(event["data"])
                    assert str(data["id"]) == event["id"]
                    return dict(data)
                event = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            event[name] = value
        raise AssertionError("the stream ended")


@contextmanager
def stream(
    server: ServerProcess, query: str, headers: dict[str, str] | None = None, read_s: float = 5
) -> Iterator[Stream]:
    timeout = httpx.Timeout(5, read=read_s)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", f"{server.url}/api/ui/stream?{query}", headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        opened = Stream(response)
        opened.ready()
        yield opened


def _artifact(server: ServerProcess, base: str = "/api", **body: Any) -> dict[str, Any]:
    made = httpx.post(f"{server.url}{base}/artifacts/", json={"type": "markdown", **body})
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_change_made_through_another_server_process_arrives(pair: Pair) -> None:
    with stream(pair.reader, "topics=artifact") as events:
        started = time.monotonic()
        made = _artifact(pair.writer, key="from-the-other-process", data="a")
        change = events.next_change()
        elapsed = time.monotonic() - started
    assert change["subject_id"] == made["id"]
    assert (change["topic"], change["action"], change["key"]) == (
        "artifact",
        "created",
        "from-the-other-process",
    )
    assert elapsed < 2, elapsed


def test_the_servers_own_inline_writes_arrive_each_before_the_next_write(pair: Pair) -> None:
    # A lone create or PATCH is written inline, on the connection kept for such writes
    # (no checkpoint): each change must reach the stream by itself, not when a later
    # write comes along. The next write is only sent once the change has arrived.
    made = _artifact(pair.reader, key="inline-on-the-same-process", data="0")
    with stream(pair.reader, f"artifacts={made['id']}") as events:
        for i in range(1, 6):
            patched = httpx.patch(
                f"{pair.reader.api_url}/artifacts/{made['id']}", json={"data": f"# {i}"}
            )
            assert patched.status_code == 204, patched.text
            change = events.next_change()
            assert (change["subject_id"], change["action"]) == (made["id"], "updated")
            shown = httpx.get(f"{pair.reader.api_url}/artifacts/{made['id']}").json()
            assert shown["data"] == f"# {i}"


def test_a_page_gets_only_what_it_shows(pair: Pair) -> None:
    flow = httpx.post(f"{pair.writer.api_url}/flows/", json={"name": "live-flow"}).json()
    run = httpx.post(f"{pair.writer.api_url}/flow_runs/", json={"flow_id": flow["id"]}).json()
    shown = _artifact(pair.writer, type="progress", data=10.0, flow_run_id=run["id"])
    with stream(pair.reader, f"artifacts={shown['id']}&runs={run['id']}") as events:
        _artifact(pair.writer, key="not-on-this-page", data="x")  # not asked for
        patched = httpx.patch(f"{pair.writer.api_url}/artifacts/{shown['id']}", json={"data": 50})
        assert patched.status_code == 204
        assert events.next_change()["action"] == "updated"
        task = httpx.post(
            f"{pair.writer.api_url}/task_runs/",
            json={"task_key": "t", "dynamic_key": "0", "flow_run_id": run["id"]},
        ).json()
        change = events.next_change()
    assert (change["topic"], change["subject_id"], change["flow_run_id"]) == (
        "task_run",
        task["id"],
        run["id"],
    )


def test_a_stream_resumes_after_its_last_event_id(pair: Pair) -> None:
    key = "resumed"
    with stream(pair.reader, f"key={key}") as events:
        made = [_artifact(pair.writer, key=key, data=str(i)) for i in range(3)]
        seen = [events.next_change() for _ in made]
    assert [c["subject_id"] for c in seen] == [m["id"] for m in made]
    later = _artifact(pair.writer, key=key, data="while away")
    # The browser reconnects with the id of the last event it had: it gets what it missed.
    resume = {"Last-Event-ID": str(seen[0]["id"])}
    with stream(pair.reader, f"key={key}", resume) as events:
        missed = [events.next_change()["subject_id"] for _ in range(3)]
    assert missed == [made[1]["id"], made[2]["id"], later["id"]]


def test_a_stream_carries_its_own_workspaces_changes_only(pair: Pair) -> None:
    with (
        stream(pair.reader, "topics=artifact,flow_run,task_run", OTHER_COOKIE) as other,
        stream(pair.reader, "topics=artifact,flow_run,task_run") as default,
    ):
        mine = _artifact(pair.writer, key="default-secret", data="d")
        theirs = _artifact(pair.writer, OTHER, key="other-secret", data="o")
        got_other = other.next_change()
        got_default = default.next_change()
        _artifact(pair.writer, key="default-second", data="d")
        _artifact(pair.writer, OTHER, key="other-second", data="o")
        assert other.next_change()["key"] == "other-second"
        assert default.next_change()["key"] == "default-second"
    assert got_other["subject_id"] == theirs["id"]
    assert got_default["subject_id"] == mine["id"]
    # Resuming from the start still shows nothing of the other workspace.
    with stream(pair.reader, "key=default-secret", {**OTHER_COOKIE, "Last-Event-ID": "0"}) as s:
        theirs_again = _artifact(pair.writer, OTHER, key="default-secret", data="same key")
        assert s.next_change()["subject_id"] == theirs_again["id"]


def test_streams_past_the_limit_are_503_and_free_again_when_closed(pair: Pair) -> None:
    url = f"{pair.reader.url}/api/ui/stream?topics=artifact"
    with httpx.Client(timeout=5) as client:
        opened = [client.stream("GET", url) for _ in range(MAX_STREAMS)]
        responses = [o.__enter__() for o in opened]
        try:
            assert [r.status_code for r in responses] == [200] * MAX_STREAMS
            refused = client.get(url)
            assert refused.status_code == 503
            assert "live streams" in refused.json()["detail"]
            assert int(refused.headers["retry-after"]) >= 1
        finally:
            for o in opened:
                o.__exit__(None, None, None)
    deadline = time.monotonic() + 5
    while True:  # the server notices the closed streams
        with (
            httpx.Client(timeout=5) as client,
            client.stream("GET", url) as again,
        ):
            if again.status_code == 200:
                break
        assert time.monotonic() < deadline, "closed streams were not released"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("query", "headers", "where"),
    [
        ("", {}, ["query", "artifacts"]),
        ("topics=artifacts", {}, ["query", "topics"]),
        ("artifacts=not-an-id", {}, ["query", "artifacts"]),
        ("runs=1,2", {}, ["query", "runs"]),
        ("topics=artifact", {"Last-Event-ID": "-1"}, ["header", "Last-Event-ID"]),
        ("topics=artifact", {"Last-Event-ID": "9" * 30}, ["header", "Last-Event-ID"]),
        ("topics=artifact&since=yesterday", {}, ["query", "since"]),
        ("topics=artifact&" + "&".join(f"key=k{i}" for i in range(51)), {}, ["query", "key"]),
    ],
)
def test_bad_input_is_422_naming_the_field(
    pair: Pair, query: str, headers: dict[str, str], where: list[str]
) -> None:
    response = httpx.get(f"{pair.reader.url}/api/ui/stream?{query}", headers=headers, timeout=5)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["exception_detail"]] == [where]


def test_the_server_stops_promptly_with_streams_open(tmp_path: Path) -> None:
    with running_server(tmp_path / "home") as server, stream(server, "topics=artifact") as s:
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=8)  # (uvicorn would wait for the stream forever)
        stopped = time.monotonic() - started
        with pytest.raises(AssertionError, match="ended"):
            s.next_change()
    assert stopped < 8


def test_on_postgresql_with_two_workers_every_stream_gets_the_change(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """`--workers 2` on PostgreSQL: streams land on either worker, writes on either; each
    stream sees every write."""
    with (
        postgres.database() as url,
        running_server(tmp_path, {"RUNFOLIO_DATABASE_URL": url}, ["--workers", "2"]) as server,
        stream(server, "topics=artifact") as first,
        stream(server, "topics=artifact") as second,
        stream(server, "topics=artifact") as third,
    ):
        made = [_artifact(server, key=f"pg-{i}", data=str(i)) for i in range(4)]
        for events in (first, second, third):
            assert [events.next_change()["subject_id"] for _ in made] == [m["id"] for m in made]


def test_a_stream_ends_soon_after_its_key_is_revoked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    with write(engine) as conn:
        default = workspaces.find(conn, "default")
        user = accounts.create_user(conn, "reader", "reader-pass-Qw83nZ", is_admin=False)
        accounts.set_role(conn, user, default, Role.READ)
        _, secret = accounts.create_key(conn, user, default, Role.READ, "reader", None)
    try:
        with (
            running_server(home) as server,
            stream(server, "topics=artifact", {"Authorization": f"Bearer {secret}"}, 15) as events,
        ):
            with pytest.raises(httpx.HTTPStatusError):  # auth is on: no key, no stream
                httpx.get(f"{server.url}/api/ui/stream?topics=artifact").raise_for_status()
            with write(engine) as conn:
                accounts.revoke_key(conn, secret)
            started = time.monotonic()
            with pytest.raises(AssertionError, match="ended"):
                events.next_change()
            assert time.monotonic() - started < stream_module.RECHECK_S + 3
    finally:
        engine.dispose()


def test_a_resume_from_before_what_was_pruned_says_reset(pair: Pair) -> None:
    key = "pruned"
    with stream(pair.reader, f"key={key}") as events:
        made = [_artifact(pair.writer, key=key, data=str(i)) for i in range(3)]
        seen = [events.next_change()["id"] for _ in made]
    engine = connect(f"sqlite:///{pair.reader.home / 'runfolio.db'}")
    try:
        with write(engine) as conn:  # as the pruner does to changes older than it keeps
            conn.execute(delete(changes_table).where(changes_table.c.id <= seen[1]))
    finally:
        engine.dispose()
    timeout = httpx.Timeout(5)
    url = f"{pair.reader.url}/api/ui/stream?key={key}"
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", url, headers={"Last-Event-ID": str(seen[0])}) as response,
    ):
        lines = response.iter_lines()
        assert [next(lines) for _ in range(5)] == [
            "retry: 1000",
            ": live",
            "",
            "event: reset",
            "data: {}",
        ]
    # Resuming from a point still kept tells the changes themselves.
    with stream(pair.reader, f"key={key}", {"Last-Event-ID": str(seen[1])}) as resumed:
        assert resumed.next_change()["subject_id"] == made[2]["id"]
