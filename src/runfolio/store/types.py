"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

from pydantic_core import from_json
from sqlalchemy import ColumnElement, DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from runfolio.schemas.common import json_depth_exceeds, json_dumps_default

log = logging.getLogger("runfolio.store")

# Deeper than this, a stored value could not be serialised into a response;
# such a value (only possible from before request depth was bounded) reads as null.
READABLE_JSON_DEPTH = 200


class _NativeJSON(TypeEngine[str]):
    """PostgreSQL's `json`, written and read as text: the driver neither encodes nor
    parses it (engine.py makes psycopg hand json values over as text)."""

    __visit_name__ = "JSON"
    # `%(x)s::JSON`: the untyped parameter is read as json, once, by the server (no text
    # cast to json), also where no column gives its type (a VALUES list, a function).
    render_bind_cast = True


def read_json_as_text(dbapi_conn: Any) -> None:
    """Make a psycopg connection hand json values over as their text, for JSONText to
    parse (and for queries that read the text itself), instead of parsing them."""
    from psycopg.types.string import TextLoader  # loaded with the driver already

    dbapi_conn.adapters.register_loader("json", TextLoader)


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities replaced by null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """The compact JSON text JSONText stores for `value`; NaN and infinities become null."""
    try:
        return _dumps(value)
    except ValueError:  # a NaN or an infinity (rare: walk the value only then)
        return _dumps(_finite(value))


# `json.dumps` with options builds this encoder on every call (a third of a small
# value's encoding); built once, it encodes the same text.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    default=json_dumps_default,
)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class JSONText(TypeDecorator[Any]):
    """JSON kept as the exact text written, so what is stored is exactly what is returned.

    On PostgreSQL the column is `json`, not `jsonb`: the server checks that the text is
    JSON (and `->`/`->>` work in SQL) but keeps it as written, so an object's keys keep
    their order (a table's columns come back in the order sent, where jsonb sorts them)
    and a string may hold `\\u0000`, which jsonb refuses. json takes every value the API
    stores: any escape (lone surrogates too), numbers of any size, any depth the API
    lets in. Checking costs the server ~25-35% of a bare insert's own time
    (bench/json_column_cost.py). On SQLite it is TEXT (a native JSON column there has
    numeric affinity and turns a top-level `100.0` into `100`).

    NaN and infinities, which are not JSON (and which `json` refuses), are written as
    null, on both databases: the API has always answered them as null. (Artifact data
    and appended rows refuse them before they get here.) Rows written before that may
    hold them on SQLite; they are read back as floats. A value too deep to be served
    again reads as null, so one bad row cannot break every listing that holds it.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_NativeJSON())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            # pydantic-core's parser: faster than json's, and it stops at ~200 levels.
            return from_json(value, allow_inf_nan=True)
        except ValueError:
            pass
        # Deep, or text only Python's parser reads (e.g. an escaped lone surrogate).
        try:
            parsed = json.loads(value)
            unreadable = json_depth_exceeds(parsed, READABLE_JSON_DEPTH)
        except RecursionError:  # deeper than Python's own parser goes
            unreadable = True
        if unreadable:
            log.warning(
                "a stored JSON value nests past %d levels; read as null", READABLE_JSON_DEPTH
            )
            return None
        return parsed


class JSONTextAsIs(TypeDecorator[str]):
    """A JSONText column's value given as its text, stored as it is (not encoded again,
    not checked on SQLite): for writing what an older version or another writer left."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return JSONText().load_dialect_impl(dialect)


class json_text(FunctionElement[str]):
    """`json_text(column)`: the JSON text a JSONText column holds, for SQL's text functions
    and comparisons (PostgreSQL's json has none): a cast there (a copy of the text),
    the column itself on SQLite. Only selecting a column needs none of this."""

    type = Text()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)


@compiles(json_text)
def _json_text_default(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime with microseconds on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        # SQLite stores text: drop the offset so every row compares lexically.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
