"""Many artifact versions, fast: bulk inserts of versions and their keys' collection
rows, for the retention tests and bench/retention_pass.py."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from runfolio.schemas.common import new_id
from runfolio.store.engine import write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, artifact_collections, artifacts

CHUNK = 10_000
_COLUMNS = ("id", "workspace_id", "key", "type", "data", "created", "updated")


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "sqlite":
        conn.execute(artifacts.insert(), rows)
        return
    # SQLite: the driver's executemany with values already in their stored form (hex
    # uuids, naive UTC text, JSON text), five times faster than the typed insert.
    stored = [
        (
            row["id"].hex,
            row["workspace_id"].hex,
            row["key"],
            row["type"],
            json.dumps(row["data"]),
            row["created"].replace(tzinfo=None).isoformat(" "),
            row["updated"].replace(tzinfo=None).isoformat(" "),
        )
        for row in rows
    ]
    marks = ", ".join("?" for _ in _COLUMNS)
    sql = f"INSERT INTO artifacts ({', '.join(_COLUMNS)}) VALUES ({marks})"
    conn.exec_driver_sql(sql, stored)


def add_versions(
    engine: Engine,
    key: str,
    ages: list[dt.timedelta],
    *,
    now: dt.datetime,
    workspace_id: uuid.UUID = DEFAULT_WORKSPACE_ID,
) -> list[uuid.UUID]:
    """Versions of `key` made `ages` ago (in any order); the youngest is the latest.
    Returns their ids, oldest first."""
    made = sorted(now - age for age in ages)
    made = [t if t.microsecond else t.replace(microsecond=1) for t in made]
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "workspace_id": workspace_id,
            "key": key,
            "type": "markdown",
            "data": f"# {key} {n}",
            "created": created,
            "updated": created,
        }
        for n, created in enumerate(made)
    ]
    with write(engine) as conn:
        for start in range(0, len(rows), CHUNK):
            _insert(conn, rows[start : start + CHUNK])
        latest = rows[-1]
        conn.execute(
            artifact_collections.insert(),
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "key": key,
                "latest_id": latest["id"],
                "latest_created": latest["created"],
                "type": "markdown",
                "data": latest["data"],
                "created": made[0],
                "updated": latest["created"],
            },
        )
    return [row["id"] for row in rows]


def add_many(
    engine: Engine, keys: int, versions: int, *, now: dt.datetime, prefix: str = "bulk"
) -> None:
    """`keys` keys of `versions` versions each, a minute apart."""
    for k in range(keys):
        ages = [dt.timedelta(minutes=n) for n in range(versions)]
        add_versions(engine, f"{prefix}-{k}", ages, now=now)


def version_count(engine: Engine, key: str | None = None) -> int:
    stmt = select(func.count()).select_from(artifacts)
    if key is not None:
        stmt = stmt.where(artifacts.c.key == key)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
