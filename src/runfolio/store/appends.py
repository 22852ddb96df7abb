"""Rows appended to a table artifact in place, and the table they make when read.

An append writes only its own rows (one `artifact_row_appends` row per call) and
never rewrites the stored table's text. Reads merge the appended rows into the
table's `data` (a JSON string, as the protocol stores tables): spliced onto the end
of the array's text, or, for a table of columns, parsed, extended and written again.
A whole replacement of the data (PATCH) drops the rows appended to the old table.

Checking that appended rows fit the table reads only the table's first row
(a prefix of the stored text); the whole table is parsed only when that is not
enough (a table of columns, a first row too long, rows of different columns).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from pydantic_core import from_json
from sqlalchemy import (
    Column,
    Connection,
    Label,
    Table,
    and_,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import IntegrityError

from runfolio.errors import Conflict, Invalid, NotFound
from runfolio.schemas.appends import RowsAppended
from runfolio.schemas.artifacts import parse_table
from runfolio.schemas.common import utcnow
from runfolio.store import changes as change_feed
from runfolio.store.tables import artifact_collections, artifact_row_appends, artifacts
from runfolio.store.types import json_text

NOT_FOUND = "Artifact not found."
# How much of the stored text is read to find the table's first row.
_PREFIX_CHARS = 16_384
_EMPTY_LIST = re.compile(r"\s*\[\s*\]\s*")

M = TypeVar("M", bound=BaseModel)
Shape = Literal["records", "rows", "columns"]


@dataclass(frozen=True, slots=True)
class Columns:
    """What an appended row must look like: a table's shape and its columns.

    `names` is None for a table with no rows yet (its first rows set the columns).
    """

    shape: Shape
    names: frozenset[str] | None = None  # records and columns
    width: int | None = None  # rows (lists)


@dataclass(frozen=True, slots=True)
class Appended:
    """The rows appended to one artifact, in order."""

    rows: list[Any]
    count: int


def _rows_error(index: int | None, msg: str, value: Any) -> Invalid:
    loc: tuple[str | int, ...] = ("body", "rows") if index is None else ("body", "rows", index)
    return Invalid.field(loc, msg, value)


def _not_a_table(artifact_id: uuid.UUID, what: str) -> Invalid:
    return Invalid.field(
        ("path", "artifact_id"),
        f"rows can only be appended to a table artifact; this one {what}",
        str(artifact_id),
    )


def _check_finite(rows: list[Any]) -> None:
    """NaN and Infinity are not JSON; storing them would give back something else."""
    stack: list[Any] = [rows]
    while stack:
        value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise _rows_error(None, "rows must not contain NaN or Infinity", None)
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


# -- what the table looks like ----------------------------------------------------------


def _columns_of(table: Any) -> Columns:
    """The columns of a whole (parsed) table: the union of its rows' keys for a table of
    objects, its longest row for a table of lists."""
    if isinstance(table, dict):
        return Columns("columns", names=frozenset(table))
    if not table:
        return Columns("records")  # no rows: shape and columns come from the first append
    if isinstance(table[0], dict):
        names: set[str] = set()
        for row in table:
            names.update(row)
        return Columns("records", names=frozenset(names))
    return Columns("rows", width=max(len(row) for row in table))


def _columns_of_first_row(first: Any) -> Columns | None:
    if isinstance(first, dict):
        return Columns("records", names=frozenset(first))
    if isinstance(first, list):
        return Columns("rows", width=len(first))
    return None


def _string_prefix(text: str) -> str | None:
    """The start of the string a (possibly cut) JSON string literal holds."""
    for cut in range(8):  # a cut may fall inside an escape such as \\uXXXX
        try:
            value = json.loads(text[: len(text) - cut] + '"')
        except ValueError:
            continue
        return value if isinstance(value, str) else None
    return None


def _first_row(prefix: str) -> tuple[bool, Any]:
    """(found, the first element) of a JSON array's text prefix; (True, None) when
    the array is empty; (False, None) when the prefix does not hold a whole first row."""
    start = prefix.find("[") + 1
    while start < len(prefix) and prefix[start].isspace():
        start += 1
    if start >= len(prefix):
        return False, None
    if prefix[start] == "]":
        return True, None
    try:
        first, _ = json.JSONDecoder().raw_decode(prefix, start)
    except ValueError:
        return False, None
    return True, first


def _first_row_columns(stored_prefix: str, complete: bool) -> Columns | None:
    """The columns the first row of the stored table text says, or None to read it all."""
    text = stored_prefix.lstrip()
    if text.startswith('"'):
        try:
            inner = json.loads(text) if complete else _string_prefix(text)
        except ValueError:
            return None  # not a JSON string: the whole table decides (and refuses it)
        if not isinstance(inner, str):
            return None
        text = inner.lstrip()
    if not text.startswith("["):
        return None  # a table of columns (or not a table): read it all
    found, first = _first_row(text)
    if not found:
        return None
    if first is None:
        return Columns("records") if _EMPTY_LIST.fullmatch(text) else None
    return _columns_of_first_row(first)


def _table_value(artifact_id: uuid.UUID, data: Any) -> Any:
    try:
        return parse_table(data)
    except ValueError as exc:
        raise _not_a_table(artifact_id, f"holds data that is not a table ({exc})") from None


# -- checking rows ----------------------------------------------------------------------


def _rows_shape(rows: list[Any]) -> Columns:
    """The shape the rows themselves have (all objects, or all lists)."""
    if all(isinstance(row, dict) for row in rows):
        return Columns("records", names=frozenset(rows[0]))
    if all(isinstance(row, list) for row in rows):
        return Columns("rows", width=len(rows[0]))
    raise _rows_error(None, "rows must all be objects or all be lists", None)


def _mismatch(rows: list[Any], columns: Columns) -> tuple[int, str] | None:
    """The first row that does not fit `columns`, and why; None when all fit."""
    for i, row in enumerate(rows):
        if columns.shape == "rows":
            if not isinstance(row, list):
                return i, "the table's rows are lists, so each appended row must be a list"
            if columns.width is not None and len(row) != columns.width:
                return i, f"the row has {len(row)} cells; the table's rows have {columns.width}"
        else:
            if not isinstance(row, dict):
                return i, "the table's rows are objects, so each appended row must be an object"
            if columns.names is not None and frozenset(row) != columns.names:
                return i, (
                    f"the row's columns {sorted(row)} are not the table's columns "
                    f"{sorted(columns.names)}"
                )
    return None


_DATA_TEXT = json_text(artifacts.c.data)


def _sqlite_prefix(conn: Connection, rowid: int) -> tuple[str, bool] | None:
    """The first characters of a stored `data` text, read without loading all of it, and
    whether that is the whole text; None for null. (Testing `data IS NULL` in SQL would
    load it all.)"""
    dbapi = conn.connection.driver_connection
    assert isinstance(dbapi, sqlite3.Connection)
    try:
        blob = dbapi.blobopen("artifacts", "data", rowid, readonly=True)
    except sqlite3.OperationalError:  # "cannot open value of type null"
        return None
    with blob:
        head = blob.read(_PREFIX_CHARS)
    if len(head) < _PREFIX_CHARS:
        return head.decode("utf-8"), True
    return head.decode("utf-8", errors="ignore"), False  # a character cut at the end is dropped


def _read_whole(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> Any:
    return conn.execute(
        select(artifacts.c.data).where(
            artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id
        )
    ).scalar_one()


def _first_appended(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> Any:
    a = artifact_row_appends.c
    rows = conn.execute(
        select(a.rows)
        .where(a.workspace_id == workspace_id, a.artifact_id == artifact_id)
        .order_by(a.seq)
        .limit(1)
    ).scalar()
    return rows[0] if rows else None


def _check_rows(
    conn: Connection,
    workspace_id: uuid.UUID,
    artifact_id: uuid.UUID,
    rows: list[Any],
    stored_prefix: str,
    complete: bool,
) -> None:
    """Refuse rows that do not fit the table: read its first row, and the whole table only
    when the first row does not settle it."""
    columns = _first_row_columns(stored_prefix, complete)
    if columns is not None and columns.names is None and columns.width is None:
        # An empty table: the rows appended before (if any) set its columns.
        first = _first_appended(conn, workspace_id, artifact_id)
        columns = _columns_of_first_row(first) if first is not None else _rows_shape(rows)
    if columns is not None and _mismatch(rows, columns) is None:
        return
    # Not settled by the first row: the whole table decides.
    table = _table_value(artifact_id, _read_whole(conn, workspace_id, artifact_id))
    columns = _columns_of(table)
    if columns.names is None and columns.width is None:
        first = _first_appended(conn, workspace_id, artifact_id)
        columns = (_columns_of_first_row(first) if first is not None else None) or _rows_shape(rows)
    bad = _mismatch(rows, columns)
    if bad is not None:
        index, why = bad
        raise _rows_error(index, why, rows[index])


# -- writing ----------------------------------------------------------------------------


def _replayed(
    conn: Connection,
    workspace_id: uuid.UUID,
    artifact_id: uuid.UUID,
    client_id: uuid.UUID,
    rows: list[Any],
) -> RowsAppended | None:
    """The answer to an append whose id this artifact already has (None when it has not):
    the same rows are a retry, answered as the first time; other rows a Conflict."""
    a = artifact_row_appends.c
    found = conn.execute(
        select(a.rows, a.row_count).where(
            a.workspace_id == workspace_id, a.artifact_id == artifact_id, a.client_id == client_id
        )
    ).first()
    if found is None:
        return None
    if found.rows != rows:
        raise Conflict(
            f"body.id: append id {client_id} was already used for other rows of this artifact."
        )
    total = conn.execute(
        select(artifacts.c.rows_appended).where(
            artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id
        )
    ).scalar()
    return RowsAppended(artifact_id=artifact_id, appended=found.row_count, rows_appended=total or 0)


def append(
    conn: Connection,
    workspace_id: uuid.UUID,
    artifact_id: uuid.UUID,
    rows: list[Any],
    client_id: uuid.UUID | None = None,
) -> tuple[RowsAppended, bool]:
    """Append `rows` to a table artifact without rewriting it; bumps its `updated` (and its
    key's collection row, when it is the latest version). Returns the answer and whether
    rows were added: an append whose `client_id` is already stored for this artifact (a
    retry) adds nothing and is answered as the first time; other rows under it are a
    Conflict."""
    _check_finite(rows)
    sqlite = conn.dialect.name == "sqlite"
    # SQLite: the prefix is read through the row's blob handle (its first pages only);
    # substr() would load the whole value first.
    head = literal_column("rowid") if sqlite else func.substr(_DATA_TEXT, 1, _PREFIX_CHARS)
    row = conn.execute(
        select(
            artifacts.c.type,
            artifacts.c.key,
            artifacts.c.flow_run_id,
            artifacts.c.rows_appended,
            head.label("head"),
        )
        .where(artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id)
        .with_for_update()  # PostgreSQL: appends to one table take their turns (seq)
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    if client_id is not None:
        replay = _replayed(conn, workspace_id, artifact_id, client_id, rows)
        if replay is not None:
            return replay, False
    if row.type != "table":
        raise _not_a_table(artifact_id, f"is of type {row.type!r}")
    if sqlite:
        found = _sqlite_prefix(conn, row.head)
    else:
        found = None if row.head is None else (row.head, len(row.head) < _PREFIX_CHARS)
    if found is None:
        raise _not_a_table(artifact_id, "has no data")
    prefix, complete = found
    _check_rows(conn, workspace_id, artifact_id, rows, prefix, complete)
    a = artifact_row_appends.c
    seq = conn.execute(
        select(func.coalesce(func.max(a.seq), 0)).where(
            a.workspace_id == workspace_id, a.artifact_id == artifact_id
        )
    ).scalar_one()
    now = utcnow()
    values = {
        "workspace_id": workspace_id,
        "artifact_id": artifact_id,
        "seq": seq + 1,
        "rows": rows,
        "row_count": len(rows),
        "created": now,
        "client_id": client_id,
    }
    try:
        # The append row goes first: if its id is taken (the same append, arrived at
        # once), nothing else was written. (SQLite keeps the transaction after a failed
        # statement; elsewhere a savepoint does.)
        if conn.dialect.name == "sqlite":
            conn.execute(artifact_row_appends.insert(), values)
        else:
            with conn.begin_nested():
                conn.execute(artifact_row_appends.insert(), values)
    except IntegrityError:
        replay = (
            None
            if client_id is None
            else _replayed(conn, workspace_id, artifact_id, client_id, rows)
        )
        if replay is None:
            raise
        return replay, False
    total = (row.rows_appended or 0) + len(rows)
    conn.execute(
        artifacts.update()
        .where(artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id)
        .values(rows_appended=total, updated=now)
    )
    conn.execute(
        artifact_collections.update()
        .where(
            artifact_collections.c.workspace_id == workspace_id,
            artifact_collections.c.latest_id == artifact_id,
        )
        .values(updated=now)
    )
    change_feed.record(
        conn,
        workspace_id,
        "artifact",
        "updated",
        artifact_id,
        key=row.key,
        flow_run_id=row.flow_run_id,
        at=now,
    )
    return RowsAppended(artifact_id=artifact_id, appended=len(rows), rows_appended=total), True


def clear(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> None:
    """Drop the rows appended to an artifact (its data was replaced, or it is deleted)."""
    a = artifact_row_appends.c
    deleted = conn.execute(
        artifact_row_appends.delete().where(
            a.workspace_id == workspace_id, a.artifact_id == artifact_id
        )
    )
    if deleted.rowcount:
        conn.execute(
            artifacts.update()
            .where(artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id)
            .values(rows_appended=None)
        )


# -- reading ----------------------------------------------------------------------------


def appended(
    conn: Connection, workspace_id: uuid.UUID, artifact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Appended]:
    """The rows appended to each of these artifacts (only those with any), in order."""
    ids = list(dict.fromkeys(artifact_ids))
    if not ids:
        return {}
    a = artifact_row_appends.c
    found: dict[uuid.UUID, Appended] = {}
    stmt = (
        select(a.artifact_id, a.rows, a.row_count)
        .where(a.workspace_id == workspace_id, a.artifact_id.in_(ids))
        .order_by(a.artifact_id, a.seq)
    )
    for artifact_id, rows, count in conn.execute(stmt):
        got = found.get(artifact_id)
        if got is None:
            found[artifact_id] = Appended(list(rows), count)
        else:
            got.rows.extend(rows)
            found[artifact_id] = Appended(got.rows, got.count + count)
    return found


def counts(
    conn: Connection, workspace_id: uuid.UUID, artifact_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many rows were appended to each of these artifacts (only those with any)."""
    ids = list(dict.fromkeys(artifact_ids))
    if not ids:
        return {}
    a = artifact_row_appends.c
    stmt = (
        select(a.artifact_id, func.sum(a.row_count))
        .where(a.workspace_id == workspace_id, a.artifact_id.in_(ids))
        .group_by(a.artifact_id)
    )
    return {artifact_id: int(total) for artifact_id, total in conn.execute(stmt)}


def _spliced(text: str, rows: list[Any]) -> str:
    """A JSON array's text with `rows` added at its end, without parsing it again."""
    tail = json.dumps(rows)
    if _EMPTY_LIST.fullmatch(text):
        return tail
    return text.rstrip()[:-1] + ", " + tail[1:]


def merged(data: Any, rows: list[Any]) -> Any:
    """Table `data` (a JSON string or a structure) with `rows` appended, in its own form.

    Data that is not a table is returned as it is (it cannot have had rows appended
    unless it was a table then; a read must never fail on it).
    """
    if not rows:
        return data
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("[") and text.endswith("]"):
            return _spliced(text, rows)
        try:
            table = json.loads(text)
        except ValueError:
            return data
        extended = merged(table, rows)
        return data if extended is table else json.dumps(extended)
    if isinstance(data, list):
        return [*data, *rows]
    if isinstance(data, dict) and all(isinstance(col, list) for col in data.values()):
        out = {name: list(col) for name, col in data.items()}
        for row in rows:
            if isinstance(row, dict):
                for name, col in out.items():
                    col.append(row.get(name))
        return out
    return data


def merged_text(text: str | None, rows: list[Any]) -> str | None:
    """`merged` for data kept as its stored JSON text (the UI reads it so)."""
    if text is None or not rows:
        return text
    try:
        value = from_json(text, allow_inf_nan=True)
    except ValueError:
        return text
    return json.dumps(merged(value, rows), ensure_ascii=False, separators=(",", ":"))


_HAS_APPENDED_ROWS: dict[tuple[str, str], Label[bool]] = {}


def has_appended_rows(table: Table, version_id: Column[Any]) -> Label[bool]:
    """A column for a listing's query (of `artifacts` or `artifact_collections`): whether
    the row's version is a table with rows appended. Read with the page, it spares a
    second query (a round trip) for the page's tables when none has any, as is usual.
    Built once per table: building it took ~40 us of every listing."""
    built = _HAS_APPENDED_ROWS.get((table.name, version_id.name))
    if built is None:
        a = artifact_row_appends.c
        appended_to = exists().where(
            a.workspace_id == table.c.workspace_id, a.artifact_id == version_id
        )
        built = and_(table.c.type == "table", appended_to).label("has_appended_rows")
        _HAS_APPENDED_ROWS[(table.name, version_id.name)] = built
    return built


def merge_into(
    conn: Connection,
    workspace_id: uuid.UUID,
    items: Sequence[M],
    id_of: str = "id",
    appended_to: Collection[uuid.UUID] | None = None,
) -> list[M]:
    """Each table among `items` (artifacts, or collection rows with `id_of="latest_id"`)
    with its appended rows merged into its data. `appended_to`: the ids among them known
    to have rows appended (`has_appended_rows`); without it, every table's are asked for."""
    if appended_to is None:
        tables = [getattr(item, id_of) for item in items if getattr(item, "type", None) == "table"]
    else:
        tables = list(appended_to)
    found = appended(conn, workspace_id, tables) if tables else {}
    if not found:
        return list(items)
    out: list[M] = []
    for item in items:
        extra = found.get(getattr(item, id_of)) if getattr(item, "type", None) == "table" else None
        if extra is not None:
            data = getattr(item, "data")  # noqa: B009 (artifacts and collection rows alike)
            item = item.model_copy(update={"data": merged(data, extra.rows)})
        out.append(item)
    return out
