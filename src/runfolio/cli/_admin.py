"""What the admin commands (`workspace`, `user`, `key`) share: the database itself, and
passwords read without echo.

Like `runfolio db`, they work on the database (RUNFOLIO_DATABASE_URL, else the SQLite
file in RUNFOLIO_HOME), never through a server: whoever holds the database holds
everything in it, so they act as the local admin and need no sign-in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from runfolio.cli._common import fail
from runfolio.errors import RunfolioError
from runfolio.settings import load_settings
from runfolio.store.engine import connect
from runfolio.store.transfer import shown

PasswordStdinOption = typer.Option(
    "--password-stdin",
    help="Read the password from the first line of stdin (for scripts) instead of prompting.",
)


@contextmanager
def database() -> Iterator[Engine]:
    """The engine of the database in force, disposed afterwards; refused input (`Invalid`,
    `Conflict`) and an unusable database print one line and exit 1."""
    try:
        url = load_settings().resolved_database_url()
    except RunfolioError as exc:
        fail(str(exc))
    try:
        engine = connect(url)
    except (ArgumentError, SQLAlchemyError, OSError) as exc:
        fail(f"Cannot open the database {shown(url)}: {exc}")
    try:
        yield engine
    except RunfolioError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        fail(f"Cannot use the database {shown(url)}: {str(reason).strip()}")
    finally:
        engine.dispose()


def read_password(from_stdin: bool) -> str:
    """A new password: the first line of stdin, or typed twice at a hidden prompt."""
    if not from_stdin:
        try:
            password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        except typer.Abort:  # end of input before two matching entries
            fail("No password given (the two entries must match): nothing was changed.")
        return password
    line = sys.stdin.readline()
    # Only the line ending is dropped: spaces may be part of a password.
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        fail("--password-stdin: stdin held no password on its first line: nothing was changed.")
    return password
