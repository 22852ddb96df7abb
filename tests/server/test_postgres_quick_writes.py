"""Artifact creates on PostgreSQL as one statement on the event loop (PostgresQuickWrites):
what they store is what the usual path stores, everything unusual is left to the usual
path with nothing written, and a real server takes this path for plain creates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from runfolio import ops
from runfolio.errors import Invalid
from runfolio.ops.access import LOCAL, OPEN, Principal, Role
from runfolio.ops.context import Caller, Context
from runfolio.schemas.artifacts import Artifact, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.runs import FlowCreate, FlowRunCreate
from runfolio.server.postgres_quick_writes import APPLICATION_NAME, PostgresQuickWrites
from runfolio.store import workspaces
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.tables import artifact_collections, artifacts, changes
from tests.pg import PostgresServer
from tests.servers import running_server

pytestmark = pytest.mark.server

T = TypeVar("T")


@pytest.fixture
def engine(postgres: PostgresServer) -> Iterator[Engine]:
    with postgres.database() as url:
        yield open_engine(url)
        dispose_engines()


def _with_creates(engine: Engine, use: Callable[[PostgresQuickWrites], Awaitable[T]]) -> T:
    """`use` run on an event loop with a PostgresQuickWrites open on `engine`."""

    async def run() -> T:
        creates = PostgresQuickWrites(engine, pool_size=2, write_timeout=5.0)
        await creates.open()
        try:
            return await use(creates)
        finally:
            await creates.close()

    return asyncio.run(run())


def _ctx(engine: Engine, principal: Principal = OPEN, account: str = "default") -> Context:
    name = "default" if account == "default" else "other"
    return Context(engine, Caller(account=account, workspace=name, principal=principal))


def _stored(engine: Engine, artifact_id: uuid.UUID) -> dict[str, Any]:
    """The version, its key's row and its change row, as stored (ids and times aside)."""
    with read(engine) as conn:
        version = conn.execute(select(artifacts).where(artifacts.c.id == artifact_id)).one()
        key_row = conn.execute(
            select(artifact_collections).where(artifact_collections.c.key == version.key)
        ).one()
        change = conn.execute(select(changes).where(changes.c.subject_id == artifact_id)).one()
    v, k, c = version._asdict(), key_row._asdict(), change._asdict()
    assert k["latest_id"] == artifact_id and k["latest_created"] == v["created"] == c["at"]
    times = ("id", "latest_id", "subject_id", "created", "updated", "latest_created", "at", "key")
    return {
        "version": {n: v[n] for n in v if n not in times},
        "key_row": {n: k[n] for n in k if n not in times},
        "change": {n: c[n] for n in c if n not in times},
    }


def _last_queries(engine: Engine) -> list[str]:
    """The last statement of each connection of the quick writes' pool."""
    with read(engine) as conn:
        found = conn.execute(
            text("SELECT query FROM pg_stat_activity WHERE application_name = :name"),
            {"name": APPLICATION_NAME},
        )
        return list(found.scalars())


def _count(engine: Engine) -> tuple[int, int]:
    with read(engine) as conn:
        return (
            conn.execute(select(func.count()).select_from(artifacts)).scalar_one(),
            conn.execute(select(func.count()).select_from(changes)).scalar_one(),
        )


def test_a_plain_create_stores_what_the_usual_path_stores(engine: Engine) -> None:
    ctx = _ctx(engine)
    body: dict[str, Any] = {"type": "markdown", "data": "# one", "metadata_": {"b": "1", "a": "2"}}
    # The usual path first: it also finds that the workspace has no webhook.
    usual, created = ops.create_artifact(ctx, ArtifactCreate(key="usual", **body))
    assert created
    quick = _with_creates(
        engine, lambda creates: creates.create(ctx, ArtifactCreate(key="quick", **body))
    )
    assert quick is not None and quick.key == "quick" and quick.created > usual.created
    assert _stored(engine, quick.id) == _stored(engine, usual.id)
    # A second version moves the key's row on.
    newer = _with_creates(engine, lambda creates: creates.create(ctx, ArtifactCreate(key="quick")))
    assert newer is not None
    with read(engine) as conn:
        row = conn.execute(
            select(artifact_collections).where(artifact_collections.c.key == "quick")
        ).one()
    assert (row.latest_id, row.latest_created, row.data) == (newer.id, newer.created, None)


def test_unusual_creates_are_left_to_the_usual_path_with_nothing_written(
    engine: Engine,
) -> None:
    ctx = _ctx(engine)

    async def before_webhooks_are_known(creates: PostgresQuickWrites) -> Artifact | None:
        return await creates.create(ctx, ArtifactCreate(data=1))

    # Not yet known to have no webhook: the usual path (it queues deliveries).
    assert _with_creates(engine, before_webhooks_are_known) is None
    first, _ = ops.create_artifact(ctx, ArtifactCreate(key="k", data=1))
    with write(engine) as conn:
        workspaces.create(conn, "acme/other")
    theirs = _ctx(engine, LOCAL, account="acme")
    flow, _ = ops.create_flow(theirs, FlowCreate(name="theirs"))
    foreign_run = ops.create_flow_run(theirs, FlowRunCreate(flow_id=flow.id)).id
    before = _count(engine)

    async def unusual(creates: PostgresQuickWrites) -> list[Artifact | None]:
        return [
            # A retry of a stored id: the usual path answers 200 with the stored version.
            await creates.create(ctx, ArtifactCreate(id=first.id, key="k", data=1)),
            # A run of another workspace: the usual path answers 422.
            await creates.create(ctx, ArtifactCreate(key="k", data=2, flow_run_id=foreign_run)),
            # A workspace that takes a query to authorise, and a caller who may only read.
            await creates.create(theirs, ArtifactCreate(data=3)),
            await creates.create(_ctx(engine, Principal("viewer", Role.READ)), ArtifactCreate()),
        ]

    assert _with_creates(engine, unusual) == [None] * 4
    assert _count(engine) == before
    with read(engine) as conn:
        assert conn.execute(select(artifact_collections.c.latest_id)).scalar_one() == first.id


def test_invalid_data_is_refused_as_the_usual_path_refuses_it(engine: Engine) -> None:
    ctx = _ctx(engine)
    ops.create_artifact(ctx, ArtifactCreate(data=0))
    bad = ArtifactCreate(data=[float("nan")])
    with pytest.raises(Invalid) as quick:
        _with_creates(engine, lambda creates: creates.create(ctx, bad))
    with pytest.raises(Invalid) as usual:
        ops.create_artifact(ctx, bad)
    assert quick.value.errors == usual.value.errors
    assert _count(engine) == (1, 1)


def test_concurrent_creates_of_one_key_end_on_the_newest(engine: Engine) -> None:
    ctx = _ctx(engine)
    ops.create_artifact(ctx, ArtifactCreate(key="k", data=-1))

    async def many(creates: PostgresQuickWrites) -> list[Artifact | None]:
        return list(
            await asyncio.gather(
                *(creates.create(ctx, ArtifactCreate(key="k", data=n)) for n in range(40))
            )
        )

    made = [m for m in _with_creates(engine, many) if m is not None]
    assert len(made) == 40
    newest = max(made, key=lambda m: (m.created, m.id))
    with read(engine) as conn:
        row = conn.execute(select(artifact_collections)).one()
    assert (row.latest_id, row.data) == (newest.id, newest.data)
    assert _count(engine) == (41, 41)


def test_a_real_server_creates_on_its_event_loop_connection(tmp_path: Path, engine: Engine) -> None:
    env = {"RUNFOLIO_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    with (
        running_server(tmp_path / "home", env) as server,
        httpx.Client(base_url=server.api_url, timeout=10) as http,
    ):
        for n in range(3):
            response = http.post("/artifacts/", json={"key": "k", "type": "markdown", "data": n})
            assert response.status_code == 201, response.text
        last = _last_queries(engine)
        assert any("INSERT INTO artifacts" in query for query in last), last
        assert http.get("/artifacts/k/latest").json()["data"] == 2


def test_an_update_changes_the_version_its_key_row_and_notes_the_change(engine: Engine) -> None:
    ctx = _ctx(engine)
    older, _ = ops.create_artifact(ctx, ArtifactCreate(key="p", type="progress", data=1.0))
    latest, _ = ops.create_artifact(ctx, ArtifactCreate(key="p", type="progress", data=2.0))
    progress = ArtifactUpdate(data=50.0, description="half")

    async def updates(quick: PostgresQuickWrites) -> list[bool]:
        return [
            await quick.update(ctx, latest.id, progress),
            await quick.update(ctx, older.id, ArtifactUpdate(data=9.0)),  # not the latest
        ]

    assert _with_creates(engine, updates) == [True, True]
    with read(engine) as conn:
        versions = {r.id: r for r in conn.execute(select(artifacts))}
        row = conn.execute(select(artifact_collections)).one()
        noted = conn.execute(
            select(changes.c.subject_id, changes.c.key).where(changes.c.action == "updated")
        ).all()
    assert (versions[latest.id].data, versions[latest.id].description) == (50.0, "half")
    assert versions[latest.id].updated > latest.updated
    assert versions[older.id].data == 9.0
    assert (row.latest_id, row.data, row.description) == (latest.id, 50.0, "half")
    assert row.updated == versions[latest.id].updated
    assert sorted(noted) == sorted([(latest.id, "p"), (older.id, "p")])


def test_unusual_updates_are_left_to_the_usual_path_with_nothing_written(
    engine: Engine,
) -> None:
    ctx = _ctx(engine)
    table, _ = ops.create_artifact(ctx, ArtifactCreate(key="t", type="table", data=[{"a": 1}]))
    strict = Context(engine, Caller(principal=OPEN), strict_artifact_data=True)
    before = _count(engine)

    async def unusual(quick: PostgresQuickWrites) -> list[bool]:
        return [
            # A table's data replaced: its appended rows go too (the usual path).
            await quick.update(ctx, table.id, ArtifactUpdate(data=[{"a": 2}])),
            await quick.update(ctx, uuid.uuid4(), ArtifactUpdate(data=1.0)),  # 404
            await quick.update(ctx, table.id, ArtifactUpdate(data=[float("inf")])),  # 422
            await quick.update(strict, table.id, ArtifactUpdate(data=[{"a": 3}])),
        ]

    assert _with_creates(engine, unusual) == [False] * 4
    assert _count(engine) == before
    with read(engine) as conn:
        assert conn.execute(select(artifacts.c.data)).scalar_one() == [{"a": 1}]
    # A table's description alone is the plain case.
    described = _with_creates(
        engine, lambda quick: quick.update(ctx, table.id, ArtifactUpdate(description="d"))
    )
    assert described is True


def test_a_real_server_updates_on_its_event_loop_connection(tmp_path: Path, engine: Engine) -> None:
    env = {"RUNFOLIO_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    with (
        running_server(tmp_path / "home", env) as server,
        httpx.Client(base_url=server.api_url, timeout=10) as http,
    ):
        made = http.post("/artifacts/", json={"key": "p", "type": "progress", "data": 0.0})
        for percent in (10.0, 20.0, 30.0):
            response = http.patch(f"/artifacts/{made.json()['id']}", json={"data": percent})
            assert response.status_code == 204, response.text
        last = _last_queries(engine)
        assert any("UPDATE artifacts" in query for query in last), last
        assert http.get("/artifacts/p/latest").json()["data"] == 30.0
        assert http.patch(f"/artifacts/{uuid.uuid4()}", json={"data": 1.0}).status_code == 404
