"""Reads over a key's whole history: versions by timeline number, the versions a
trend chart reads, and the ids an archive walks.

Version numbers are the timeline's: 1 for a key's first version by (created, id).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from sqlalchemy import Connection, Text, case, func, select, type_coerce

from runfolio.errors import NotFound
from runfolio.store.artifacts import NOT_FOUND
from runfolio.store.tables import artifacts
from runfolio.store.types import json_text


class VersionRef(NamedTuple):
    id: uuid.UUID
    number: int
    created: dt.datetime
    type: str | None


class VersionNumbers(NamedTuple):
    """A version's own fields a trend reads; `data_text` is None when null or too long."""

    ref: VersionRef
    metadata: dict[str, Any] | None
    data_text: str | None


def version_at(conn: Connection, workspace_id: uuid.UUID, key: str, number: int) -> uuid.UUID:
    """The id of `key`'s version `number` (1 = first), or `NotFound`."""
    a = artifacts.c
    if number < 1:
        raise NotFound(NOT_FOUND)
    stmt = (
        select(a.id)
        .where(a.workspace_id == workspace_id, a.key == key)
        .order_by(a.created, a.id)
        .offset(number - 1)
        .limit(1)
    )
    found = conn.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(NOT_FOUND)
    return uuid.UUID(str(found))


def version_refs(conn: Connection, workspace_id: uuid.UUID, key: str) -> list[VersionRef]:
    """Every version of `key`, oldest first, numbered as on the timeline."""
    a = artifacts.c
    stmt = (
        select(a.id, a.created, a.type)
        .where(a.workspace_id == workspace_id, a.key == key)
        .order_by(a.created, a.id)
    )
    return [
        VersionRef(row.id, i, row.created, row.type)
        for i, row in enumerate(conn.execute(stmt), start=1)
    ]


def recent_numbers(
    conn: Connection, workspace_id: uuid.UUID, key: str, *, limit: int, max_data_chars: int
) -> list[VersionNumbers]:
    """The newest `limit` versions of `key`, oldest first, with their metadata and their
    data text when it is at most `max_data_chars` long (a large table is not read)."""
    a = artifacts.c
    text = type_coerce(a.data, Text)
    small = func.length(json_text(a.data)) <= max_data_chars
    total = int(
        conn.execute(
            select(func.count()).where(a.workspace_id == workspace_id, a.key == key)
        ).scalar_one()
    )
    stmt = (
        select(
            a.id,
            a.created,
            a.type,
            a.metadata_,
            case((small, text), else_=None).label("data_text"),
        )
        .where(a.workspace_id == workspace_id, a.key == key)
        .order_by(a.created.desc(), a.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(stmt))
    return [
        VersionNumbers(
            VersionRef(row.id, total - i, row.created, row.type), row.metadata_, row.data_text
        )
        for i, row in enumerate(rows)
    ][::-1]
