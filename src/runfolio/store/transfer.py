"""A store's revision, and copying a whole store to another database (`runfolio db ...`).

`revision_of` reads the Alembic revision a database records without migrating it.
`copy_store` copies every table of `tables.metadata`, in dependency order, from a
source at the head revision to a target migrated to it first, in batches, keeping
ids, times and data. Rows whose primary key the target already holds are left as
they are (so a copy can be re-run), and counted; the copy ends by checking that
every source key is in the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Row,
    Table,
    create_engine,
    event,
    func,
    inspect,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError
from sqlalchemy.pool import NullPool

from runfolio.errors import Invalid
from runfolio.store.engine import connect, read, write
from runfolio.store.migrations import HEAD_REVISION
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, metadata, workspaces
from runfolio.store.types import read_json_as_text

BATCH_SIZE = 1000
#: Largest batch: its keys are bound as parameters (two per row for artifacts), within
#: SQLite's 32,766 and PostgreSQL's 65,535.
MAX_BATCH_SIZE = 10_000
#: Seconds to wait for a PostgreSQL server to answer when a database is first opened.
CONNECT_TIMEOUT = 10


def masked(url: str) -> str:
    """`url` with its password shown as `***` (safe to print)."""
    return make_url(url).render_as_string(hide_password=True)


def shown(url: str) -> str:
    """`url` as messages print it: masked, or a placeholder when it cannot be parsed."""
    try:
        return masked(url)
    except ArgumentError:
        return "(an unreadable URL)"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another backend or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names when it does not exist yet (opening it would create it)."""
    path = sqlite_path(url)
    return path if path is not None and not path.exists() else None


def same_database(a: str, b: str) -> bool:
    """Whether two URLs name the same database (the same SQLite file however written)."""
    path_a, path_b = sqlite_path(a), sqlite_path(b)
    if path_a is not None or path_b is not None:
        return path_a == path_b
    url_a, url_b = make_url(a), make_url(b)
    return url_a.set(drivername=url_a.get_backend_name()) == url_b.set(
        drivername=url_b.get_backend_name()
    )


def open_unmigrated(url: str) -> Engine:
    """An engine reading `url` as it is: no file or table created, nothing migrated.

    On SQLite a transaction starts with BEGIN, so one read sees one snapshot.
    """
    parsed = make_url(url)
    # A host that does not answer fails in seconds instead of the OS's TCP timeout.
    postgres = parsed.get_backend_name() == "postgresql"
    wait = {"connect_timeout": CONNECT_TIMEOUT} if postgres else {}
    wait = {} if "connect_timeout" in parsed.query else wait
    engine = create_engine(parsed, poolclass=NullPool, connect_args=wait)
    if postgres:
        event.listen(engine, "connect", lambda dbapi_conn, _record: read_json_as_text(dbapi_conn))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # BEGIN is ours (below)
            dbapi_conn.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


@dataclass(frozen=True)
class Revision:
    """What a database records: its Alembic revision (None when it has none) and tables."""

    revision: str | None
    has_tables: bool

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.has_tables

    @property
    def at_head(self) -> bool:
        return self.revision == HEAD_REVISION


def revision_of(engine: Engine) -> Revision:
    """The revision recorded in the database, read without migrating anything.

    Connection errors propagate (SQLAlchemy's `OperationalError`).
    """
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        if "alembic_version" not in names:
            return Revision(None, bool(names))
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return Revision(revision, True)


def probe(url: str) -> Revision:
    """The revision of the database at `url`, opened and closed again; a SQLite file
    that does not exist reads as empty (and is not created)."""
    if missing_sqlite_file(url) is not None:
        return Revision(None, False)
    engine = open_unmigrated(url)
    try:
        return revision_of(engine)
    finally:
        engine.dispose()


class Progress(Protocol):
    """Told as each table starts and as each batch is written."""

    def start(self, table: str, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


@dataclass
class TableCopy:
    """One table's copy: rows in the source, written, already there, and the check."""

    table: str
    source_rows: int = 0
    copied: int = 0
    #: Rows whose primary key the target already held (left as they are) ...
    present: int = 0
    #: ... of which this many hold other data than the source's row.
    differing: int = 0
    target_rows: int = 0
    #: Source rows whose key the target lacks after the copy (another unique key clashed).
    missing: int = 0


def _insert(table: Table, dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return table.insert()  # present keys are skipped before inserting anyway


def _key_of(table: Table) -> Any:
    columns = list(table.primary_key.columns)
    return tuple_(*columns) if len(columns) > 1 else columns[0]


def _key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


def _stored(
    conn: Connection, table: Table, keys: list[tuple[Any, ...]], whole: bool = True
) -> dict[Any, Row[Any]]:
    """The target's rows (or only their keys) among `keys`, by key."""
    columns = list(table.primary_key.columns)
    wanted = keys if len(columns) > 1 else [key[0] for key in keys]
    query = select(table) if whole else select(*columns)
    rows = conn.execute(query.where(_key_of(table).in_(wanted))).all()
    return {tuple(getattr(row, c.name) for c in columns): row for row in rows}


def _copy_batch(
    target: Engine, table: Table, rows: Sequence[dict[str, Any]], result: TableCopy
) -> None:
    keys = [_key(table, row) for row in rows]
    try:
        with write(target) as conn:
            present = _stored(conn, table, keys)
            new = [row for row, key in zip(rows, keys, strict=True) if key not in present]
            if new:
                conn.execute(_insert(table, target.dialect.name), new)
            after = _stored(conn, table, keys, whole=False)
    except IntegrityError as exc:
        raise Invalid(
            f"The target refused rows of {table.name}: {str(exc.orig).strip()}. It holds "
            "other data under the same names (e.g. a workspace or flow with another id)."
        ) from None
    except DataError as exc:  # e.g. a NUL character, which PostgreSQL's text refuses
        raise Invalid(
            f"The target cannot hold rows of {table.name}: {str(exc.orig).strip()}."
        ) from None
    result.present += len(present)
    result.differing += sum(
        1
        for row, key in zip(rows, keys, strict=True)
        if key in present and present[key]._asdict() != row
    )
    result.copied += sum(1 for key in keys if key in after and key not in present)
    result.missing += sum(1 for key in keys if key not in after)


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def check_source(engine: Engine, url: str) -> None:
    """Raise `Invalid` unless the source database is a runfolio store at the head revision."""
    state = revision_of(engine)
    if state.empty:
        raise Invalid(f"The source database {masked(url)} is empty: nothing to copy.")
    if state.revision is None:
        raise Invalid(f"The source database {masked(url)} is not a runfolio store (no revision).")
    if not state.at_head:
        raise Invalid(
            f"The source database {masked(url)} is at revision {state.revision}, not at the "
            f"head {HEAD_REVISION}: run `runfolio db upgrade --url {masked(url)}` first."
        )


def copy_store(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> list[TableCopy]:
    """Copy every row of every table from `source_url` to `target_url` (see the module).

    Raises `Invalid` for a source that is missing, empty or not at the head revision,
    or when both URLs name one database; SQLAlchemy's errors when a database cannot
    be reached.
    """
    if same_database(source_url, target_url):
        raise Invalid("The source and the target are the same database.")
    if (path := missing_sqlite_file(source_url)) is not None:
        raise Invalid(f"The source database {path} does not exist.")
    source = open_unmigrated(source_url)
    try:
        check_source(source, source_url)
        target_state = probe(target_url)
        if target_state.revision is None and target_state.has_tables:
            raise Invalid(
                f"The target database {masked(target_url)} holds tables but is not a "
                "runfolio store (no revision): copy into an empty database or a runfolio store."
            )
        target = connect(target_url)
        try:
            return _copy_tables(source, target, batch_size, progress)
        finally:
            target.dispose()
    finally:
        source.dispose()


def _copy_tables(
    source: Engine,
    target: Engine,
    batch_size: int,
    progress: Progress | None,
) -> list[TableCopy]:
    results: list[TableCopy] = []
    with read(source) as src:
        if src.dialect.name == "postgresql":  # one snapshot across every table
            src.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if _unused(target):
            _adopt_default_workspace(src, target)
        for table in copied_tables():
            result = TableCopy(table.name, source_rows=_count(src, table))
            if progress is not None:
                progress.start(table.name, result.source_rows)
            order = list(table.primary_key.columns)
            rows = src.execution_options(yield_per=batch_size).execute(
                select(table).order_by(*order)
            )
            for batch in rows.mappings().partitions(batch_size):
                _copy_batch(target, table, [dict(row) for row in batch], result)
                if progress is not None:
                    progress.advance(len(batch))
            with read(target) as conn:
                result.target_rows = _count(conn, table)
            results.append(result)
    return results


def copied_tables() -> list[Table]:
    """Every table a copy carries, in dependency order: all but the short-lived ones
    (UI sessions, failed sign-ins), which belong to the server they were made on."""
    return [table for table in metadata.sorted_tables if not table.info.get("transient")]


def _unused(engine: Engine) -> bool:
    """Whether a store holds nothing but the default workspace its creation made."""
    with read(engine) as conn:
        for table in copied_tables():
            if table is workspaces:
                ids = conn.execute(select(workspaces.c.id)).scalars().all()
                if list(ids) != [DEFAULT_WORKSPACE_ID]:
                    return False
            elif conn.execute(select(literal(1)).select_from(table).limit(1)).first():
                return False
    return True


def _adopt_default_workspace(src: Connection, target: Engine) -> None:
    """An unused target holds only the default workspace its creation made: give it the
    source's creation time, so the copy is exact."""
    created = src.execute(
        select(workspaces.c.created).where(workspaces.c.id == DEFAULT_WORKSPACE_ID)
    ).scalar()
    if created is not None:
        with write(target) as conn:
            conn.execute(
                workspaces.update()
                .where(workspaces.c.id == DEFAULT_WORKSPACE_ID)
                .values(created=created)
            )
