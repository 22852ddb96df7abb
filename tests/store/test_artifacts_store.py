"""The artifact store on a real SQLite file and on PostgreSQL: transactions, concurrency,
portability."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from runfolio.errors import Conflict, Invalid, NotFound
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import RelatedFilters
from runfolio.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactFilter,
    FlowFilter,
    FlowRunFilter,
    TaskRunFilter,
)
from runfolio.schemas.sorting import ArtifactSort
from runfolio.store import artifacts as store
from runfolio.store import filtering
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifact_collections, artifacts
from tests.pg import PostgresServer, refuse

WS = DEFAULT_WORKSPACE_ID


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    yield open_engine(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    dispose_engines()


def _rows_in(conn: Connection) -> tuple[int, int]:
    return (
        conn.execute(select(func.count()).select_from(artifacts)).scalar_one(),
        conn.execute(select(func.count()).select_from(artifact_collections)).scalar_one(),
    )


def _rows(engine: Engine) -> tuple[int, int]:
    with read(engine) as conn:
        return _rows_in(conn)


def test_a_failure_inside_the_transaction_leaves_nothing(db: Engine) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), write(db) as conn:
        store.create(conn, WS, ArtifactCreate(key="k", data="x"))
        assert _rows_in(conn) == (1, 1)  # visible inside the transaction
        raise Boom
    assert _rows(db) == (0, 0)


@pytest.mark.parametrize("table", ["artifacts", "artifact_collections"])
def test_a_create_refused_half_way_leaves_both_rows_as_they_were(db: Engine, table: str) -> None:
    # A keyed create writes two rows; make the database refuse one of them.
    event = "BEFORE INSERT" if table == "artifacts" else "BEFORE UPDATE"
    with write(db) as conn:
        first, _ = store.create(conn, WS, ArtifactCreate(key="k", data="first"))
        refuse(conn, event, table, "CAST(NEW.data AS TEXT) = '\"boom\"'")
    with read(db) as conn:
        before = store.read_collection(conn, WS, "k")
    with pytest.raises(Exception, match="no"), write(db) as conn:
        store.create(conn, WS, ArtifactCreate(key="k", data="boom"))
    with read(db) as conn:
        assert store.read_collection(conn, WS, "k") == before
        assert store.read_latest(conn, WS, "k").id == first.id
    assert _rows(db) == (1, 1)


def test_domain_errors(db: Engine) -> None:
    with write(db) as conn:
        made, created = store.create(conn, WS, ArtifactCreate(id=uuid.uuid4(), key="k", data=1))
        assert created
        again, created = store.create(conn, WS, ArtifactCreate(id=made.id, key="k", data=1))
        assert not created and again == made
        with pytest.raises(Conflict):
            store.create(conn, WS, ArtifactCreate(id=made.id, key="k", data=2))
        with pytest.raises(NotFound, match="Artifact not found."):
            store.update(conn, WS, uuid.uuid4(), ArtifactUpdate(data=1))
        with pytest.raises(NotFound):
            store.delete(conn, WS, uuid.uuid4())
        with pytest.raises(NotFound):
            store.read_latest(conn, WS, "nope")
        with pytest.raises(Invalid) as err:
            store.create(conn, WS, ArtifactCreate(data=[1.0, float("inf")]))
        assert err.value.errors[0]["loc"] == ["body", "data"]
        progress, _ = store.create(conn, WS, ArtifactCreate(type="progress", data=5.0))
        with pytest.raises(Invalid) as err:
            store.update(conn, WS, progress.id, ArtifactUpdate(data=500), strict=True)
        assert err.value.errors[0]["loc"] == ["body", "data"]
        assert "progress" in err.value.errors[0]["msg"]
    assert _rows(db) == (2, 1)


def test_concurrent_writers_on_one_key_keep_the_collection_consistent(db: Engine) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(15):
                with write(db) as conn:
                    store.create(conn, WS, ArtifactCreate(key="shared", type="progress", data=i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read(db) as conn:
        assert store.count_artifacts(conn, WS) == 90
        newest = store.filter_artifacts(conn, WS, sort=ArtifactSort.CREATED_DESC, limit=1)[0]
        row = store.read_collection(conn, WS, "shared")
        assert row.latest_id == newest.id and row.data == newest.data


@pytest.fixture
def pg_engine(postgres: PostgresServer) -> Iterator[Engine]:
    with postgres.database() as url:
        yield open_engine(url)
        dispose_engines()


def _waits(target: Callable[[], object]) -> threading.Thread:
    """`target` started on a thread, asserted to be still waiting half a second later."""
    thread = threading.Thread(target=target)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "expected to wait for the key's row"
    return thread


def test_an_older_create_committing_last_leaves_the_newer_latest(pg_engine: Engine) -> None:
    """PostgreSQL writers of one key run side by side: the key's row ends on the newest
    version whichever commits last."""
    with write(pg_engine) as conn:
        newer, _ = store.create(conn, WS, ArtifactCreate(key="k", data="newer"))
        made = newer.created - dt.timedelta(seconds=1)

        def older() -> None:
            with write(pg_engine) as other:
                store.create(other, WS, ArtifactCreate(key="k", data="older", created=made))

        waiting = _waits(older)
    waiting.join()
    with read(pg_engine) as conn:
        assert store.count_artifacts(conn, WS) == 2
        assert store.read_collection(conn, WS, "k").latest_id == newer.id


def test_a_create_during_a_delete_of_the_latest_becomes_the_latest(pg_engine: Engine) -> None:
    with write(pg_engine) as conn:
        first, _ = store.create(conn, WS, ArtifactCreate(key="k", data=1))
        second, _ = store.create(conn, WS, ArtifactCreate(key="k", data=2))
    made: list[uuid.UUID] = []

    def create() -> None:
        with write(pg_engine) as other:
            made.append(store.create(other, WS, ArtifactCreate(key="k", data=3))[0].id)

    with write(pg_engine) as conn:
        store.delete(conn, WS, second.id)  # the row now names `first`, uncommitted
        waiting = _waits(create)
    waiting.join()
    with read(pg_engine) as conn:
        row = store.read_collection(conn, WS, "k")
        assert (row.latest_id, row.data) == (made[0], 3)


def test_a_delete_during_a_create_leaves_the_new_version_latest(pg_engine: Engine) -> None:
    with write(pg_engine) as conn:
        old, _ = store.create(conn, WS, ArtifactCreate(key="k", data=1))
    with write(pg_engine) as conn:
        new, _ = store.create(conn, WS, ArtifactCreate(key="k", data=2))

        def delete_old() -> None:
            with write(pg_engine) as other:
                store.delete(other, WS, old.id)

        waiting = _waits(delete_old)
    waiting.join()
    with read(pg_engine) as conn:
        assert store.count_artifacts(conn, WS) == 1
        assert store.read_collection(conn, WS, "k").latest_id == new.id


def test_a_second_process_writes_the_same_database(
    tmp_path: Path, database_url: str | None
) -> None:
    """The server and scripts share one database (file): both writers' rows all land."""
    url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    engine = open_engine(url)
    script = textwrap.dedent(
        f"""
        from runfolio.schemas.artifacts import ArtifactCreate
        from runfolio.store import artifacts
        from runfolio.store.engine import open_engine, write
        from runfolio.store.tables import DEFAULT_WORKSPACE_ID
        engine = open_engine({url!r})
        for i in range(40):
            with write(engine) as conn:
                artifacts.create(conn, DEFAULT_WORKSPACE_ID, ArtifactCreate(key="other", data=i))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        for i in range(40):
            with write(engine) as conn:
                store.create(conn, WS, ArtifactCreate(key="mine", data=i))
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        with read(engine) as conn:
            assert store.count_artifacts(conn, WS) == 80
            assert store.count_collections(conn, WS) == 2
            assert store.read_latest(conn, WS, "other").data == 39
            assert store.read_latest(conn, WS, "mine").data == 39
    finally:
        if child.poll() is None:
            child.kill()
        dispose_engines()


def test_timestamps_keep_microseconds_and_utc(db: Engine) -> None:
    with write(db) as conn:
        made, _ = store.create(conn, WS, ArtifactCreate(key="k"))
    with read(db) as conn:
        got = store.read(conn, WS, made.id)
    assert got.created == made.created and got.created.utcoffset() is not None
    assert got.created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


# -- portability: every filter and sort compiles for PostgreSQL as well -------------

_CRITERIA: list[ArtifactFilter | ArtifactCollectionFilter] = [
    ArtifactFilter.model_validate(
        {
            "operator": "or_",
            "id": {"any_": [str(uuid.uuid4())]},
            "key": {"any_": ["a"], "like_": "b%_", "exists_": True},
            "flow_run_id": {"any_": []},
            "type": {"any_": ["markdown"], "not_any_": ["table"]},
        }
    ),
    ArtifactCollectionFilter.model_validate(
        {"latest_id": {"any_": [str(uuid.uuid4())]}, "key": {"exists_": False}}
    ),
]
_RELATED = RelatedFilters(
    flow_runs=FlowRunFilter.model_validate(
        {
            "name": {"like_": "x"},
            "tags": {"all_": ["a"], "any_": ["b"], "is_null_": False},
            "state": {"type": {"any_": ["RUNNING"]}, "name": {"not_any_": ["x"]}},
            "start_time": {"after_": "2026-01-01T00:00:00Z", "is_null_": False},
            "parent_flow_run_id": {"any_": [str(uuid.uuid4())]},
        }
    ),
    task_runs=TaskRunFilter.model_validate(
        {"subflow_runs": {"exists_": True}, "flow_run_id": {"is_null_": True}}
    ),
    flows=FlowFilter.model_validate({"name": {"any_": ["f"]}, "tags": {"all_": ["t"]}}),
)


# SQLAlchemy leaves the psycopg dialect's __init__ unannotated.
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), _PG], ids=["sqlite", "pg"])
@pytest.mark.parametrize("sort", list(ArtifactSort))
def test_filters_and_sorts_compile_on_both_backends(dialect: Dialect, sort: ArtifactSort) -> None:
    for crit, table in zip(_CRITERIA, (artifacts, artifact_collections), strict=True):
        clause = filtering.artifact_clauses(table, crit)
        assert clause is not None
        stmt = select(table.c.id).where(clause)
        for extra in filtering.related_clauses(table, WS, _RELATED):
            stmt = stmt.where(extra)
        stmt = stmt.order_by(*filtering.artifact_order(table, sort))
        sql = str(stmt.compile(dialect=dialect))
        assert "ORDER BY" in sql
        # Versions may have no key (sorted first, as the protocol does); collections
        # always have one, so no NULLS clause keeps their unique index usable.
        if sort is ArtifactSort.KEY_ASC:
            assert ("NULLS FIRST" in sql) == (table is artifacts)
        if sort is ArtifactSort.KEY_DESC:
            assert ("NULLS LAST" in sql) == (table is artifacts)
        if dialect.name == "postgresql":
            assert "strpos(" in sql and "instr(" not in sql
            assert "ILIKE" in sql or crit.key.like_ is None  # type: ignore[union-attr]
