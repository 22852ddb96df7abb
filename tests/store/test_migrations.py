"""One migration tree, checked against the table definitions, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from runfolio.store.engine import dispose_engines, open_engine
from runfolio.store.migrations import HEAD_REVISION, alembic_config, upgrade_to_head
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, metadata, workspaces


def test_head_revision_constant_is_the_script_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]


def test_a_fresh_database_migrates_to_exactly_the_table_definitions(
    empty_database: Callable[[str], str],
) -> None:
    engine = create_engine(empty_database("fresh.db"))
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == HEAD_REVISION
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_the_first_migration_creates_the_default_workspace(
    empty_database: Callable[[str], str],
) -> None:
    engine = create_engine(empty_database("ws.db"))
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(workspaces.c.id, workspaces.c.account, workspaces.c.name))
            assert [tuple(r) for r in rows] == [(DEFAULT_WORKSPACE_ID, "default", "default")]
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(empty_database: Callable[[str], str]) -> None:
    engine = create_engine(empty_database("down.db"))
    try:
        upgrade_to_head(engine)
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_to_head(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


# WAL and the file's own pragmas are SQLite's (this test opens no other database).
def test_open_engine_migrates_once_and_turns_wal_on(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "runfolio.db"
    url = f"sqlite:///{path}"
    try:
        engine = open_engine(url)
        assert open_engine(url) is engine  # one engine per URL per process
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert revision == HEAD_REVISION
    finally:
        dispose_engines()
    # WAL mode is a property of the file: a plain connection sees it too.
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # Re-opening an up-to-date file keeps its rows (nothing is re-created).
    with sqlite3.connect(path) as plain:
        plain.execute(
            "INSERT INTO workspaces (id, account, name, created) "
            "VALUES ('0190aaaa000070008000000000000001', 'a', 'b', '2026-01-01 00:00:00')"
        )
    try:
        with open_engine(url).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 2
    finally:
        dispose_engines()


def test_the_comparison_notices_a_drifted_table(empty_database: Callable[[str], str]) -> None:
    # Guard for the test above: a table definition the migrations lack is reported.
    from sqlalchemy import Column, Index, MetaData, String, Table

    drifted = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    Table(
        "artifacts",
        drifted,
        Column("colour", String(20)),
        Index("ix_artifacts__colour", "colour"),
        extend_existing=True,
    )
    engine = create_engine(empty_database("drift.db"))
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), drifted)
        kinds = {entry[0] for entry in diff if isinstance(entry, tuple)}
        assert {"add_column", "add_index"} <= kinds
    finally:
        engine.dispose()


def test_upgrading_keeps_artifacts_and_makes_ids_per_workspace(
    empty_database: Callable[[str], str],
) -> None:
    engine = create_engine(empty_database("old.db"))
    try:
        command.upgrade(alembic_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO artifacts (id, workspace_id, key, data, created, updated) "
                    "VALUES (:id, :ws, 'k', '\"kept\"', '2026-01-01 00:00:00', "
                    "'2026-01-01 00:00:00')"
                ),
                {"id": "0" * 31 + "1", "ws": DEFAULT_WORKSPACE_ID.hex},
            )
        upgrade_to_head(engine)
        inspector = inspect(engine)
        pk = inspector.get_pk_constraint("artifacts")
        assert pk["constrained_columns"] == ["workspace_id", "id"]
        with engine.connect() as conn:
            # As text: a json column (PostgreSQL) would be parsed by the driver.
            kept = conn.execute(text("SELECT key, CAST(data AS TEXT) FROM artifacts")).all()
            assert kept == [("k", '"kept"')]
    finally:
        engine.dispose()
