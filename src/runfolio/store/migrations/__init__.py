"""Alembic migrations, applied when a database is opened."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:  # Alembic is loaded only when a migration runs
    from alembic.config import Config

# Checked against the scripts by a test, so opening an up-to-date database
# costs one query and never loads Alembic.
HEAD_REVISION = "0008"

MIGRATIONS_DIR = Path(__file__).parent

log = logging.getLogger("runfolio.store")


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def enable_trigram_search(conn: Connection) -> bool:
    """On PostgreSQL, create the pg_trgm extension unless it is there; False (and a
    warning) when the server lacks it or the role may not create it.

    Since PostgreSQL 13 a database's owner may create it. A refusal must not fail the
    migration: it is tried in a savepoint, and key searches then read every row.
    """
    from runfolio.store.tables import TRIGRAM_EXTENSION

    try:
        with conn.begin_nested():
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM_EXTENSION}"))
    except DBAPIError as refused:
        log.warning(
            "PostgreSQL extension %s could not be created (%s): artifact key "
            "searches (like_) will read every row instead of a trigram index. The "
            "indexes are ix_artifacts__key_trgm and ix_artifact_collections__key_trgm "
            "(migration 0007), for a privileged role to create later.",
            TRIGRAM_EXTENSION,
            str(refused.orig).strip(),
        )
        return False
    return True


# Alembic's own bookkeeping table, as Alembic creates it.
_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_fresh(engine: Engine) -> bool:
    """On an empty database, create the tables from their definitions and record the
    head revision, without loading Alembic (it is what running every migration
    produces: a test compares the two). Returns False if the database is not empty.
    """
    from runfolio.schemas.common import utcnow
    from runfolio.store.tables import (
        DEFAULT_ACCOUNT,
        DEFAULT_WORKSPACE,
        DEFAULT_WORKSPACE_ID,
        metadata,
        workspaces,
    )

    with engine.connect().execution_options(runfolio_write=True) as conn, conn.begin():
        if inspect(conn).get_table_names():
            return False
        if conn.dialect.name == "postgresql":
            enable_trigram_search(conn)  # the key indexes are created only with it
        metadata.create_all(conn)
        _alembic_version.create(conn)
        conn.execute(_alembic_version.insert(), {"version_num": HEAD_REVISION})
        conn.execute(
            workspaces.insert(),
            {
                "id": DEFAULT_WORKSPACE_ID,
                "account": DEFAULT_ACCOUNT,
                "name": DEFAULT_WORKSPACE,
                "created": utcnow(),
            },
        )
    return True
