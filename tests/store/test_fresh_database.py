"""A new database is created from the table definitions without Alembic; it must be
exactly what the migrations produce."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text

from runfolio.store.engine import dispose_engines, open_engine
from runfolio.store.migrations import HEAD_REVISION, create_fresh, upgrade_to_head
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, metadata
from tests.store.schema_diff import schema_diff


def test_fresh_path_matches_the_migrations(empty_database: Callable[[str], str]) -> None:
    fresh = create_engine(empty_database("fresh.db"))
    migrated = create_engine(empty_database("migrated.db"))
    try:
        _compare_fresh_and_migrated(fresh, migrated)
    finally:
        fresh.dispose()
        migrated.dispose()


def _compare_fresh_and_migrated(fresh: Engine, migrated: Engine) -> None:
    assert create_fresh(fresh)
    upgrade_to_head(migrated)
    for engine in (fresh, migrated):
        with engine.connect() as conn:
            assert schema_diff(conn, metadata) == []
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == HEAD_REVISION
            )
            assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 1
    shapes = []
    for engine in (fresh, migrated):
        inspector = inspect(engine)
        shapes.append(
            {
                name: (
                    sorted(c["name"] for c in inspector.get_columns(name)),
                    sorted(str(i["name"]) for i in inspector.get_indexes(name)),
                )
                for name in inspector.get_table_names()
            }
        )
    assert shapes[0] == shapes[1]


def test_fresh_path_refuses_a_database_that_has_tables(
    empty_database: Callable[[str], str],
) -> None:
    engine = create_engine(empty_database("x.db"))
    try:
        assert create_fresh(engine)
        assert not create_fresh(engine)
    finally:
        engine.dispose()


def test_open_engine_on_a_new_file_uses_the_fresh_path(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = open_engine(url)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM workspaces")).scalars().all()
    assert [str(i).replace("-", "") for i in ids] == [DEFAULT_WORKSPACE_ID.hex]
    dispose_engines()
