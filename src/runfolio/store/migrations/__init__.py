"""Alembic migrations, applied when a database is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

# Checked against the scripts by a test, so opening an up-to-date database
# costs one query and never loads Alembic.
HEAD_REVISION = "0001"

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
