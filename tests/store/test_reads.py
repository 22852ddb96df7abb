"""`read(engine, snapshot=False)`: outside a transaction on PostgreSQL (no BEGIN, no
COMMIT), still one on SQLite; and the pooled connection is transactional again after it,
so a later write that fails leaves nothing behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from runfolio.store.engine import connect, read, write


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    opened = connect(database_url or f"sqlite:///{tmp_path / 'runfolio.db'}")
    try:
        yield opened
    finally:
        opened.dispose()


def _in_transaction(driver: Any) -> bool:
    """Whether the driver's connection is inside a transaction (the database's view)."""
    if isinstance(driver, sqlite3.Connection):
        return driver.in_transaction
    return bool(driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS)


def test_a_read_without_a_snapshot(engine: Engine) -> None:
    with read(engine, snapshot=False) as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        driver = conn.connection.driver_connection
        # PostgreSQL: autocommit, no BEGIN was sent; SQLite keeps its snapshot.
        assert _in_transaction(driver) is (engine.dialect.name == "sqlite")
    with read(engine) as conn:
        assert conn.connection.driver_connection is driver  # the same pooled connection
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert _in_transaction(driver)


def test_a_failed_write_after_it_leaves_nothing(engine: Engine) -> None:
    with write(engine) as conn:
        conn.execute(text("CREATE TABLE scratch (n INTEGER)"))
    with read(engine, snapshot=False) as conn:
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
    with pytest.raises(RuntimeError), write(engine) as conn:
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
        raise RuntimeError("the write fails after its insert")
    with read(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
