"""One migration tree, checked against the table definitions, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, select, text

from runfolio.store.engine import dispose_engines, open_engine
from runfolio.store.migrations import HEAD_REVISION, alembic_config, create_fresh, upgrade_to_head
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, metadata, workspaces
from tests.pg import SUPERUSER, PostgresServer
from tests.store.schema_diff import schema_diff


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
            diff = schema_diff(conn, metadata, compare_type=True, compare_server_default=True)
            assert diff == []
            assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
        if engine.dialect.name == "postgresql":
            # Alembic compares index names and columns, not their method or operator class.
            for table in ("artifacts", "artifact_collections"):
                assert _trigram_index(engine, table) == {
                    "postgresql_using": "gin",
                    "postgresql_ops": {"key": "gin_trgm_ops"},
                }
    finally:
        engine.dispose()


def _trigram_index(engine: Engine, table: str) -> dict[str, Any] | None:
    """The method and operator class of `table`'s key trigram index; None without one."""
    for index in inspect(engine).get_indexes(table):
        if index["name"] == f"ix_{table}__key_trgm":
            options = index.get("dialect_options", {})
            return {k: options.get(k) for k in ("postgresql_using", "postgresql_ops")}
    return None


def test_a_refused_trigram_extension_leaves_the_indexes_out(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A role that may create tables in the schema but not extensions in the database
    # (pg_trgm is trusted: CREATE on the database would be enough).
    role = "no_extensions"
    _as_superuser(postgres.url("postgres"), f"CREATE ROLE {role} LOGIN")
    try:
        with postgres.database(empty=True) as url, postgres.database(empty=True) as fresh_url:
            engines = []
            for database_url in (url, fresh_url):
                _as_superuser(database_url, f"GRANT ALL ON SCHEMA public TO {role}")
                engines.append(create_engine(database_url.replace(f"{SUPERUSER}@", f"{role}@")))
            migrated, fresh = engines
            try:
                with caplog.at_level(logging.WARNING, logger="runfolio.store"):
                    upgrade_to_head(migrated)
                    assert create_fresh(fresh)
                for engine in engines:
                    with engine.connect() as conn:
                        revision = conn.execute(text("SELECT version_num FROM alembic_version"))
                        assert revision.scalar() == HEAD_REVISION
                    assert _trigram_index(engine, "artifacts") is None
                    assert _trigram_index(engine, "artifact_collections") is None
            finally:
                for engine in engines:
                    engine.dispose()
        refusals = [r for r in caplog.records if "pg_trgm could not be created" in r.message]
        assert len(refusals) == 2
    finally:
        _as_superuser(postgres.url("postgres"), f"DROP ROLE {role}")


def _as_superuser(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
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
            assert schema_diff(conn, metadata, compare_type=True) == []
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
            diff = schema_diff(conn, drifted)
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


def test_upgrading_gives_each_key_row_the_time_of_its_latest_version(
    empty_database: Callable[[str], str],
) -> None:
    engine = create_engine(empty_database("latest.db"))
    ws = DEFAULT_WORKSPACE_ID.hex
    try:
        command.upgrade(alembic_config(engine), "0007")
        with engine.begin() as conn:
            for n, made in ((1, "2026-01-01 00:00:00.5"), (2, "2026-02-01 00:00:00.5")):
                conn.execute(
                    text(
                        "INSERT INTO artifacts (id, workspace_id, key, data, created, updated) "
                        "VALUES (:id, :ws, 'k', '1', :made, :made)"
                    ),
                    {"id": f"{n:032x}", "ws": ws, "made": made},
                )
            # The row names the older version: the upgrade takes its time, not the newest.
            conn.execute(
                text(
                    "INSERT INTO artifact_collections (id, workspace_id, key, latest_id, "
                    "created, updated) VALUES (:id, :ws, 'k', :latest, "
                    "'2026-01-01 00:00:00.5', '2026-03-01 00:00:00.5')"
                ),
                {"id": f"{9:032x}", "ws": ws, "latest": f"{1:032x}"},
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT CAST(latest_created AS TEXT) FROM artifact_collections")
            ).scalar_one()
        assert stored.startswith("2026-01-01 00:00:00.5")
    finally:
        engine.dispose()
