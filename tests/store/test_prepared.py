"""Prepared statements store exactly what `Connection.execute` stores, and fail alike."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.prepared import Prepared
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifacts

WS = DEFAULT_WORKSPACE_ID
COLUMNS = (
    "id",
    "workspace_id",
    "key",
    "type",
    "description",
    "data",
    "metadata_",
    "flow_run_id",
    "task_run_id",
    "created_by",
    "created",
    "updated",
)
INSERT = Prepared(artifacts.insert(), COLUMNS)
STORED = ", ".join(name for name in COLUMNS if name != "id")
BY_ID = Prepared(
    select(artifacts.c.data, artifacts.c.created, artifacts.c.flow_run_id).where(
        artifacts.c.workspace_id == bindparam("ws_"), artifacts.c.id == bindparam("id_")
    )
)
PARIS = dt.timezone(dt.timedelta(hours=2))

# Values at the edges of each column type: text with NUL and astral characters, JSON
# that is a bare string, deep, ordered, a float that looks whole; times without a
# fraction, in another zone, naive.
ODD: dict[str, dict[str, Any]] = {
    "plain": {"data": "# title\n\nbody", "created": dt.datetime(2026, 1, 2, 3, 4, 5, 6, dt.UTC)},
    "json": {
        "data": {"z": [1.0, 2, None, True], "a": {"é": "😀"}, "n": 10**20},
        "metadata_": {"k": "v"},
        "created": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=PARIS),
    },
    "nul in json": {"data": "a\x00b", "created": dt.datetime(2026, 1, 2, 3, 4, 5)},
    "nul in text": {"description": "a\x00b", "key": "k\x00"},
    "runs": {"flow_run_id": uuid.uuid4(), "task_run_id": uuid.uuid4(), "created_by": "x"},
}


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    yield open_engine(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    dispose_engines()


def _row(artifact_id: uuid.UUID, values: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime(2026, 5, 6, 7, 8, 9, 10, dt.UTC)
    row = dict.fromkeys(COLUMNS)
    row.update(id=artifact_id, workspace_id=WS, created=now, updated=now)
    return {**row, **values}


def _insert(db: Engine, row: dict[str, Any], prepared: bool) -> Exception | None:
    """Insert `row` one way or the other in its own transaction; the error, if any."""
    try:
        with write(db) as conn:
            if prepared:
                INSERT.run(conn, row)
            else:
                conn.execute(artifacts.insert(), row)
    except DBAPIError as exc:
        return exc
    return None


def _stored(db: Engine, artifact_id: uuid.UUID) -> tuple[Any, ...]:
    """The row as the driver hands it over (no SQLAlchemy type in between)."""
    with read(db) as conn:
        sql = f"SELECT {STORED} FROM artifacts WHERE id = {_literal(db, artifact_id)}"
        return tuple(conn.exec_driver_sql(sql).one())


def _literal(db: Engine, value: uuid.UUID) -> str:
    return f"'{value.hex}'" if db.dialect.name == "sqlite" else f"'{value}'"


@pytest.mark.parametrize("case", list(ODD))
def test_a_prepared_insert_stores_what_sqlalchemy_stores(db: Engine, case: str) -> None:
    by_sqlalchemy, by_prepared = uuid.uuid4(), uuid.uuid4()
    expected = _insert(db, _row(by_sqlalchemy, ODD[case]), prepared=False)
    failed = _insert(db, _row(by_prepared, ODD[case]), prepared=True)
    if expected is not None:  # PostgreSQL's text refuses NUL: the same error either way
        assert type(failed) is type(expected), (failed, expected)
        return
    assert failed is None
    assert _stored(db, by_prepared) == _stored(db, by_sqlalchemy)
    with read(db) as conn:
        read_back = [
            conn.execute(select(artifacts).where(artifacts.c.id == i)).one()._asdict()
            for i in (by_sqlalchemy, by_prepared)
        ]
        (data, created, flow_run_id), *rest = BY_ID.rows(conn, {"ws_": WS, "id_": by_prepared})
    assert not rest
    assert {**read_back[0], "id": None} == {**read_back[1], "id": None}
    assert (data, created, flow_run_id) == (
        read_back[1]["data"],
        read_back[1]["created"],
        read_back[1]["flow_run_id"],
    )


def test_a_value_changed_in_place_is_stored_as_it_is_now(db: Engine) -> None:
    # Converted values are remembered for immutable values only.
    data: dict[str, Any] = {"step": 1}
    first, second = uuid.uuid4(), uuid.uuid4()
    with write(db) as conn:
        INSERT.run(conn, _row(first, {"data": data}))
        data["step"] = 2
        INSERT.run(conn, _row(second, {"data": data}))
    with read(db) as conn:
        assert [row[0]["step"] for row in BY_ID.rows(conn, {"ws_": WS, "id_": first})] == [1]
        assert [row[0]["step"] for row in BY_ID.rows(conn, {"ws_": WS, "id_": second})] == [2]


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(db: Engine) -> None:
    taken = uuid.uuid4()
    assert _insert(db, _row(taken, {"key": "first"}), prepared=True) is None
    with pytest.raises(IntegrityError), write(db) as conn:
        INSERT.run(conn, _row(uuid.uuid4(), {"key": "rolled back"}))
        INSERT.run(conn, _row(taken, {"key": "again"}))
    with read(db) as conn:
        keys = conn.execute(select(artifacts.c.key)).scalars().all()
    assert keys == ["first"]


def test_run_many_stores_each_row_as_sqlalchemy_does(db: Engine) -> None:
    # The cases that both databases take (PostgreSQL's text refuses NUL).
    cases = [ODD["plain"], ODD["json"], ODD["runs"]]
    by_sqlalchemy = [uuid.uuid4() for _ in cases]
    by_prepared = [uuid.uuid4() for _ in cases]
    with write(db) as conn:
        conn.execute(
            artifacts.insert(), [_row(i, c) for i, c in zip(by_sqlalchemy, cases, strict=True)]
        )
        INSERT.run_many(conn, [_row(i, c) for i, c in zip(by_prepared, cases, strict=True)])
    for expected, stored in zip(by_sqlalchemy, by_prepared, strict=True):
        assert _stored(db, stored) == _stored(db, expected)


def test_run_many_fails_whole_as_sqlalchemy_does(db: Engine) -> None:
    taken = uuid.uuid4()
    assert _insert(db, _row(taken, {"key": "first"}), prepared=True) is None
    with pytest.raises(IntegrityError), write(db) as conn:
        INSERT.run_many(conn, [_row(uuid.uuid4(), {"key": "new"}), _row(taken, {"key": "again"})])
    with read(db) as conn:
        assert conn.execute(select(artifacts.c.key)).scalars().all() == ["first"]
