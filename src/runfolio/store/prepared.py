"""Statements of the hot write paths, compiled once and run on the driver's cursor.

`Connection.execute` costs about 50 us of CPU per statement before the driver sees
it (cache-key lookup, execution context, events, result set-up): several times what
SQLite takes to insert a small row. A `Prepared` statement is a SQLAlchemy Core
statement compiled once per dialect; each run converts its parameters with the
compiled statement's own bind processors (so what is stored is byte-for-byte what
`Connection.execute` would store, and every other read keeps working) and hands the
SQL to the driver connection under the caller's transaction.

Driver errors come out as SQLAlchemy's exceptions (`IntegrityError`,
`OperationalError`, ...), as they would from `Connection.execute`; a connection the
database dropped is invalidated, so the pool replaces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.expression import SelectBase
from sqlalchemy.types import DateTime, TypeDecorator

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Positional drivers (SQLite's qmark) take a tuple in this order; named ones
    # (psycopg's pyformat) a dict.
    names: tuple[str, ...]
    positional: bool
    # (name, processor, value, memo): the value of a literal in the statement, `_GIVEN`
    # for a bindparam the caller gives; the memo of the type's processor, if it has one.
    binds: tuple[tuple[str, Processor | None, Any, _Memo | None], ...]
    bind_names: tuple[str, ...]  # of `binds`, in order
    # Positional, and each name once in the order of `binds` (an INSERT's VALUES).
    in_order: bool
    results: tuple[Processor | None, ...]


_GIVEN = object()


class _Memo(dict[int, tuple[Any, Any]]):
    """Conversions by value id; cleared when `size` are held."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size


# Recent conversions of an immutable value by a type's Python-side processor (a
# TypeDecorator's), by the value's id: a create binds the same time five times and its
# text twice, and converting a time costs more than a whole bind without it. The entry
# holds the value itself, so its id cannot be reused while it is remembered; only
# immutable values are remembered (a dict changed in place must be converted again).
_MEMOS: dict[tuple[str, str], _Memo] = {}
_MEMO_SIZE = 32
# Times are small: a whole batch of task runs' worth is remembered, so a state's time,
# bound in its run's row and again in its history row (another executemany), is
# converted once.
_TIME_MEMO_SIZE = 2048
_IMMUTABLE = (str, dt.datetime)


class Prepared:
    """A Core statement run with a mapping of its `bindparam`s' values; compiled the
    first time each dialect runs it.

    `columns`: for an INSERT or UPDATE without `.values()`, the columns it sets (each
    bound under its own name), as `Connection.execute` picks them from the first row.
    """

    def __init__(self, statement: Executable, columns: Sequence[str] = ()) -> None:
        self.statement = statement
        self.columns = list(columns)
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = _compile(self.statement, self.columns, dialect)
            self._by_dialect[dialect.name] = compiled
        return compiled

    def run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Execute with `params` in `conn`'s transaction; the driver's cursor."""
        compiled = self._compiled(conn.dialect)
        bound = _bound(compiled, params)
        return _on_driver(conn, compiled.sql, bound, lambda driver: driver.execute)

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row of `rows`, as one executemany, in `conn`'s transaction."""
        if not rows:
            return
        compiled = self._compiled(conn.dialect)
        bound = [_bound(compiled, params) for params in rows]
        # psycopg's connection has no executemany; a cursor of either driver has.
        _on_driver(conn, compiled.sql, bound, lambda driver: driver.cursor().executemany)

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute; how many rows it changed."""
        return int(self.run(conn, params).rowcount)

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute a SELECT; its rows, each value read as `Connection.execute` reads it."""
        return _read(self._compiled(conn.dialect), self.run(conn, params).fetchall())

    async def rows_async(
        self, aconn: Any, dialect: Dialect, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """`rows` on an async psycopg connection (in autocommit, for a statement that is
        its own transaction). The driver's errors come out as they are."""
        compiled = self._compiled(dialect)
        cursor = await aconn.execute(compiled.sql, _bound(compiled, params))
        return _read(compiled, await cursor.fetchall())


def _read(compiled: _Compiled, found: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with each value read as `Connection.execute` reads it."""
    return [
        tuple(
            value if read is None else read(value)
            for read, value in zip(compiled.results, row, strict=True)
        )
        for row in found
    ]


def _bound(compiled: _Compiled, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """`params` converted by the columns' own processors, in the driver's form."""
    values = []
    for name, convert, literal, memo in compiled.binds:
        value = params[name] if literal is _GIVEN else literal
        if convert is None:
            values.append(value)
        elif memo is None or not isinstance(value, _IMMUTABLE):
            values.append(convert(value))
        else:
            seen = memo.get(id(value))
            if seen is None or seen[0] is not value:
                if len(memo) >= memo.size:
                    memo.clear()
                seen = memo[id(value)] = (value, convert(value))
            values.append(seen[1])
    if compiled.in_order:  # an INSERT's columns, each once: the tuple is the values
        return tuple(values)
    by_name = dict(zip(compiled.bind_names, values, strict=True))
    if compiled.positional:
        return tuple(by_name[name] for name in compiled.names)
    return by_name


def _on_driver(
    conn: Connection, sql: str, bound: Any, method: Callable[[Any], Callable[[str, Any], Any]]
) -> Any:
    """`method` of the driver connection run on (sql, bound); driver errors come out as
    SQLAlchemy's, and a connection the database dropped is invalidated."""
    dialect = conn.dialect
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        return method(driver)(sql, bound)
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, driver, None)
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            bound,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from exc


def _compile(statement: Executable, columns: list[str], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=columns or None
    )
    # Names the driver's syntax needs escaped would differ from the bindparams': not
    # handled, and not needed (ours are plain identifiers).
    assert not compiled.escaped_bind_names, compiled.escaped_bind_names
    positional = bool(compiled.positional)
    # Each bindparam under the name the SQL gives it (an anonymous one's is made up).
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    names = tuple(compiled.positiontup or ()) if positional else tuple(by_name)
    # A type's processor for this dialect, as SQLAlchemy picks it (the dialect's own
    # implementation of the type, a TypeDecorator's wrapped around it).
    binds = []
    for name in dict.fromkeys(names):
        bind = by_name[name]
        literal = _GIVEN if bind.required or name in columns else bind.value
        memo = None
        if isinstance(bind.type, TypeDecorator):
            key = (dialect.name, repr(bind.type))
            memo = _MEMOS.get(key)
            if memo is None:
                is_time = isinstance(bind.type.impl_instance, DateTime)
                memo = _MEMOS[key] = _Memo(_TIME_MEMO_SIZE if is_time else _MEMO_SIZE)
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, processor, literal, memo))
    selected = statement.selected_columns if isinstance(statement, SelectBase) else ()
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
    )
    bind_names = tuple(bind[0] for bind in binds)
    in_order = positional and names == bind_names
    return _Compiled(
        compiled.string, names, positional, tuple(binds), bind_names, in_order, results
    )
