"""JSON columns keep the exact text written: PostgreSQL's json (not jsonb), SQLite's TEXT."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text

from runfolio.schemas.runs import FlowCreate, FlowRunCreate
from runfolio.store import runs
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.migrations import alembic_config, upgrade_to_head
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS
from runfolio.store.tables import flow_runs
from runfolio.store.transfer import open_unmigrated
from runfolio.store.types import json_text


def _nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


# What the API may store: keys in any order, NUL and other escapes, lone surrogates as
# escapes (inside a text value), numbers past 64 bits, nesting up to the request limit.
PARAMETERS: dict[str, Any] = {
    "zeta": 1,
    "alpha": {"b": 2, "a": 1},
    "nul": "a\x00b",
    "controls": "\x01\t\n\u2028",
    "escaped": '"\\ud800" and \\u0000 as text',
    "unicode": "ärger σίσυφος 日本 😀",
    "huge": 10**40,
    "float": 100.0,
    "deep": _nested(60),
}


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    yield open_engine(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    dispose_engines()


def _run_with(engine: Engine, parameters: dict[str, Any]) -> Any:
    with write(engine) as conn:
        flow, _ = runs.create_flow(conn, WS, FlowCreate(name="f"))
        return runs.create_flow_run(
            conn, WS, FlowRunCreate(flow_id=flow.id, parameters=parameters)
        ).id


def _stored_text(engine: Engine, run_id: Any) -> str:
    with read(engine) as conn:
        query = select(json_text(flow_runs.c.parameters)).where(flow_runs.c.id == run_id)
        return str(conn.execute(query).scalar_one())


def test_the_text_written_is_the_text_kept(db: Engine) -> None:
    run_id = _run_with(db, PARAMETERS)
    stored = _stored_text(db, run_id)
    assert stored == json.dumps(PARAMETERS, ensure_ascii=False, separators=(",", ":"))
    assert '"zeta":1,"alpha":{"b":2,"a":1}' in stored and "\\u0000" in stored
    with read(db) as conn:
        read_back = runs.read_flow_run(conn, WS, run_id).parameters
    assert read_back == PARAMETERS
    assert list(read_back["alpha"]) == ["b", "a"]


def test_the_column_type_is_json_on_postgresql(db: Engine) -> None:
    column = {c["name"]: c["type"] for c in inspect(db).get_columns("flow_runs")}["parameters"]
    expected = "JSON" if db.dialect.name == "postgresql" else "TEXT"
    assert str(column) == expected
    if db.dialect.name == "postgresql":  # native: the database reads inside the value
        run_id = _run_with(db, {"b": {"c": "found"}})
        with read(db) as conn:
            found = conn.execute(
                text("SELECT parameters->'b'->>'c' FROM flow_runs WHERE id = :id"),
                {"id": run_id},
            ).scalar_one()
        assert found == "found"
        # Escapes Python's json writes (with ensure_ascii) for NUL and a lone surrogate,
        # which jsonb refuses: json takes them as they are.
        escapes = '["\\u0000","\\ud800","\\udc00\\ud800"]'
        with read(db) as conn:
            kept = conn.execute(text("SELECT CAST(CAST(:t AS JSON) AS TEXT)"), {"t": escapes})
            assert kept.scalar_one() == escapes


def test_nan_and_infinity_are_stored_as_null(db: Engine) -> None:
    run_id = _run_with(db, {"a": float("nan"), "b": [1.5, float("inf"), -float("inf")]})
    assert _stored_text(db, run_id) == '{"a":null,"b":[1.5,null,null]}'


def test_migration_0006_makes_json_columns_and_nulls_nan(
    empty_database: Callable[[str], str],
) -> None:
    url = empty_database("old.db")
    engine = open_unmigrated(url)
    try:
        command.upgrade(alembic_config(engine), "0005")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO flows (id, workspace_id, name, tags, created, updated) "
                    "VALUES (:id, :ws, 'f', :tags, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": "0" * 31 + "1", "ws": WS.hex, "tags": '["NaN",1]'},
            )
            conn.execute(
                text(
                    "INSERT INTO flows (id, workspace_id, name, tags, labels, created, updated) "
                    "VALUES (:id, :ws, 'g', '[]', :labels, "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": "0" * 31 + "2", "ws": WS.hex, "labels": '{"z":NaN,"a":[-Infinity]}'},
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT CAST(tags AS TEXT), CAST(labels AS TEXT) FROM flows ORDER BY name")
            ).all()
        postgres = engine.dialect.name == "postgresql"
        # A NaN inside a string is text; a NaN token is not JSON and PostgreSQL's json
        # would refuse it: there, it becomes null (as the API always answered it).
        labels = '{"z":null,"a":[null]}' if postgres else '{"z":NaN,"a":[-Infinity]}'
        assert kept == [('["NaN",1]', None), ("[]", labels)]
        command.downgrade(alembic_config(engine), "0005")
        types = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("flows")}
        assert types["tags"] == "TEXT"
    finally:
        engine.dispose()
