"""`runfolio db current | upgrade | copy`: the database itself, for operators.

These commands work on a database URL, never through a server: `--url` (or
`--from`/`--to`), else RUNFOLIO_DATABASE_URL, else the SQLite file in
RUNFOLIO_HOME. Passwords are printed as `***`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars
from rich.table import Table
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from runfolio.cli._common import fail, succeed
from runfolio.errors import RunfolioError
from runfolio.settings import load_settings
from runfolio.store.engine import connect as open_migrated
from runfolio.store.migrations import HEAD_REVISION, alembic_config
from runfolio.store.transfer import (
    BATCH_SIZE,
    MAX_BATCH_SIZE,
    TableCopy,
    check_source,
    copy_store,
    masked,
    missing_sqlite_file,
    open_unmigrated,
    probe,
    same_database,
    shown,
)

app = typer.Typer(
    help="Inspect, migrate and copy the database.\n\n"
    "Works on the database URL itself (--url, else RUNFOLIO_DATABASE_URL, else the SQLite "
    "file in RUNFOLIO_HOME), never through a server.\n\n"
    "Example: runfolio db current",
    no_args_is_help=True,
)

UrlOption = typer.Option(
    None,
    "--url",
    metavar="URL",
    help="SQLAlchemy URL of the database (default: RUNFOLIO_DATABASE_URL, else the SQLite "
    "file in RUNFOLIO_HOME).",
)


def _url_in_force(url: str | None) -> str:
    if url:
        return url
    try:
        return load_settings().resolved_database_url()
    except RunfolioError as exc:
        fail(str(exc))


@contextmanager
def _reporting(url: str | None, role: str = "") -> Iterator[None]:
    """Expected failures (an unreachable database, a bad URL, refused input) exit 1."""
    what = f"the {role} database".replace("  ", " ")
    where = f"{what} {shown(url)}" if url is not None else what
    try:
        yield
    except RunfolioError as exc:
        fail(str(exc))
    except ArgumentError as exc:
        fail(f"Cannot use {where}: {exc}")
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        fail(f"Cannot use {where}: {str(reason).strip()}")
    except OSError as exc:
        fail(f"Cannot open {where}: {exc}")


def _describe(revision: str | None, has_tables: bool, no_file: bool = False) -> tuple[str, bool]:
    """The revision line of `db current` and whether it is a state runfolio can use."""
    if revision is None:
        if has_tables:
            return "none: the database holds tables but is not a runfolio store", False
        what = "empty: the file does not exist yet" if no_file else "empty"
        return f"{what} (created at {HEAD_REVISION} on first use or by `runfolio db upgrade`)", True
    if revision == HEAD_REVISION:
        return f"{revision}: up to date", True
    from alembic.script import ScriptDirectory  # loaded only for a database behind the head

    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if revision in known:
        return f"{revision}: behind: {revision} → {HEAD_REVISION} (run `runfolio db upgrade`)", True
    return (
        f"{revision}: unknown to this runfolio (head {HEAD_REVISION}); written by a newer one?",
        False,
    )


@app.command("current")
def current(url: str | None = UrlOption) -> None:
    """Print the database URL in force and its revision against the head (migrates nothing).

    The revision reads `up to date`, `behind: 0001 → 0002`, or `empty`. Exits 1 when
    the database cannot be reached or is not a runfolio store.

    Example: runfolio db current
    """
    url = _url_in_force(url)
    with _reporting(url):
        typer.echo(f"database: {masked(url)}")
        state = probe(url)
        no_file = missing_sqlite_file(url) is not None
        line, usable = _describe(state.revision, state.has_tables, no_file)
    typer.echo(f"revision: {line}")
    if not usable:
        raise typer.Exit(1)


@app.command("upgrade")
def upgrade(url: str | None = UrlOption) -> None:
    """Migrate the database to the head revision (creating it when empty); idempotent.

    runfolio also migrates a database when it opens it; this is for operators who
    migrate explicitly, e.g. before starting several servers on one database.

    Example: runfolio db upgrade --url postgresql+psycopg://runfolio@db/runfolio
    """
    url = _url_in_force(url)
    with _reporting(url):
        typer.echo(f"database: {masked(url)}")
        state = probe(url)
        line, usable = _describe(state.revision, state.has_tables)
        if not usable:
            fail(f"Cannot upgrade: revision {line}")
        if state.at_head:
            succeed(f"Already at the head revision {HEAD_REVISION}: nothing to do.")
            return
        open_migrated(url).dispose()
    if state.empty:
        succeed(f"Created the tables at the head revision {HEAD_REVISION}.")
    else:
        succeed(f"Upgraded: {state.revision} → {HEAD_REVISION}.")


class _ProgressBars:
    """One rich progress bar per table, on stderr."""

    def __init__(self, bars: Bars) -> None:
        self.bars = bars
        self.task: TaskID | None = None

    def start(self, table: str, total: int) -> None:
        self.task = self.bars.add_task(table, total=total)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.bars.advance(self.task, rows)


def _report(results: list[TableCopy]) -> Table:
    table = Table(title="Rows per table")
    for name in ("table", "source", "target", "copied", "already there", "missing"):
        table.add_column(name, justify="left" if name == "table" else "right")
    for r in results:
        table.add_row(
            r.table,
            str(r.source_rows),
            str(r.target_rows),
            str(r.copied),
            str(r.present),
            str(r.missing),
        )
    return table


@app.command("copy")
def copy(
    source: str | None = typer.Option(
        None,
        "--from",
        metavar="URL",
        help="Database to copy from (default: the one in force, as for --url).",
    ),
    target: str = typer.Option(..., "--to", metavar="URL", help="Database to copy into."),
    batch_size: int = typer.Option(
        BATCH_SIZE, "--batch-size", min=1, max=MAX_BATCH_SIZE, help="Rows written per transaction."
    ),
) -> None:
    """Copy every row (workspaces, flows, runs, states, logs, artifacts) to another database.

    Ids, times and data are kept. The target is migrated to the head revision first;
    the source must be at it (see `runfolio db upgrade`). Rows already in the target
    (by primary key) are left as they are, so the copy can be re-run. Ends with the
    row counts of every table; exits 1 if the target lacks any source row.

    Example: runfolio db copy --to postgresql+psycopg://runfolio:secret@db/runfolio
    """
    source = _url_in_force(source)
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    typer.echo(f"from: {shown(source)}\nto:   {shown(target)}")
    with _reporting(None):
        if same_database(source, target):
            fail("The source and the target are the same database: nothing to copy.")
    with _reporting(source, "source"):
        if (path := missing_sqlite_file(source)) is not None:
            fail(f"The source database {path} does not exist.")
        engine = open_unmigrated(source)
        try:
            check_source(engine, source)
        finally:
            engine.dispose()
    with _reporting(target, "target"):
        probe(target)
    with _reporting(None), Bars(*columns, console=Console(stderr=True)) as bars:
        results = copy_store(source, target, batch_size=batch_size, progress=_ProgressBars(bars))
    Console().print(_report(results))
    differing = sum(r.differing for r in results)
    if differing:
        typer.secho(
            f"{differing} rows already in the target with other data than the source's "
            "were left as they are (not overwritten).",
            fg=typer.colors.YELLOW,
        )
    missing = sum(r.missing for r in results)
    if missing:
        fail(
            f"The target lacks {missing} source rows: another row holds their unique key "
            "(a workspace's account and name, a flow's name, an artifact key) there."
        )
    copied, present = sum(r.copied for r in results), sum(r.present for r in results)
    skipped = f" ({present} already in the target, skipped)" if present else ""
    succeed(f"Copied {copied} rows{skipped}; the target holds every source row.")
