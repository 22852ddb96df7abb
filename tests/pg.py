"""A throwaway PostgreSQL server for the tests, and a fresh database per test.

`./scripts/test` installs Debian's `postgresql` package when its server binaries are
missing; `PostgresServer` runs `initdb` on a temporary directory, starts the server on
127.0.0.1 on a free port (its unix socket inside that directory) and removes it all
at the end. PostgreSQL refuses to run as root: as root, every server command runs as
the `postgres` system user the package creates, owner of the directory.

Each database is copied from a template migrated once (`CREATE DATABASE ... TEMPLATE`),
which is far cheaper than migrating a new one. Nothing is skipped when PostgreSQL is
absent: starting fails loudly, with the server's own words.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, text

from runfolio.store.engine import connect
from tests.servers import free_port

TEMPLATE = "runfolio_template"
SUPERUSER = "postgres"


def server_binaries() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian's layout)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server binaries are not installed (no /usr/lib/postgresql/*/bin/"
            "pg_ctl): run ./scripts/test, which installs Debian's `postgresql` package."
        )
    return Path(found[-1]).parent


class PostgresServer:
    """One PostgreSQL server in a temporary directory; `start()`, then `stop()`."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="runfolio-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")  # created by Debian's package
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, cwd=self.dir, check=False
        )
        if result.returncode != 0:
            log = self.dir / "server.log"
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(
                f"PostgreSQL for the tests failed: {' '.join(args)}\n"
                f"{result.stdout}{result.stderr}{server_log}"
            )

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )
        self.resume()
        self._admin("CREATE DATABASE " + TEMPLATE)
        connect(self.url(TEMPLATE)).dispose()  # migrated once; copied for each test

    def resume(self) -> None:
        """Start the server on its data directory (again, after `halt()`), on the same port."""
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.dir}",
                # Throwaway data: nothing needs to survive a crash.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "--wait",
            "--silent",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.dir / "server.log"),
            "--options",
            options,
        )

    def halt(self, mode: str = "fast") -> None:
        """Stop the server and keep its data (an outage): `resume()` starts it again.
        `fast` ends every session (their transactions roll back), as an operator would."""
        self._run(
            str(self.bin / "pg_ctl"), "stop", "--wait", "--silent", "-m", mode, "-D", str(self.data)
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bin / "pg_ctl"),
                    "stop",
                    "--silent",
                    "-m",
                    "immediate",
                    "-D",
                    str(self.data),
                )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, *statements: str) -> None:
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    @contextmanager
    def database(self, *, empty: bool = False) -> Iterator[str]:
        """The URL of a new database holding the migrated schema (or nothing at all);
        dropped afterwards, with any connection still open to it."""
        name = f"test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {'template0' if empty else TEMPLATE}")
        try:
            yield self.url(name)
        finally:
            self._admin(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


DATABASES = ["sqlite", "postgresql"]


def each_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The body of a `database_url` fixture with `params=DATABASES`: None (the embedded
    SQLite file) or the URL of a fresh PostgreSQL database, dropped after the test."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url


# For a test outside the suites that run on both databases, which should (it says why).
on_both_databases = pytest.mark.parametrize("database_url", DATABASES, indirect=True)

# For a test that is about SQLite itself (its pragmas, its file, its locks): it runs
# on the embedded file only, where its suite otherwise runs on both databases.
# Each use says why in a comment.
sqlite_only = pytest.mark.parametrize("database_url", [None], ids=["sqlite"])


def refuse(conn: Connection, event: str, table: str, when: str | None = None) -> None:
    """Make the database refuse `event` ("BEFORE INSERT", ...) on `table` (where `when`
    holds) with a constraint error: a write that fails half-way, on either database."""
    condition = f"WHEN ({when})" if when else ""
    if conn.dialect.name == "sqlite":
        body = "BEGIN SELECT RAISE(ABORT, 'no'); END"
        conn.execute(text(f"CREATE TRIGGER refuse {event} ON {table} {condition} {body}"))
        return
    conn.execute(
        text(
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = 'integrity_constraint_violation'; "
            "END $$"
        )
    )
    conn.execute(
        text(
            f"CREATE TRIGGER refuse {event} ON {table} FOR EACH ROW {condition} "
            "EXECUTE FUNCTION refuse()"
        )
    )
