"""What every command shares: the client session, error reporting, options, paging.

Commands open the client with `connect()`; an expected error inside it (a
server that does not answer, a bad setting, an unknown object, refused input)
is printed as one red line on stderr and exits 1, never as a traceback.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from typer.models import OptionInfo

from runfolio.client import RunfolioClient, client_for
from runfolio.errors import LimitTooLarge, RunfolioError, ServerUnreachable
from runfolio.settings import load_settings

T = TypeVar("T")

#: Page size of the filter calls: the protocol's default (and maximum) limit, or the
#: server's own maximum when that is smaller (see `fetch_pages`).
PAGE_SIZE = 200
#: Largest `--limit` a listing accepts (fetched in pages of PAGE_SIZE).
MAX_LIMIT = 10_000


def fail(message: str) -> NoReturn:
    """Print an error on stderr and exit 1."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def succeed(message: str) -> None:
    typer.secho(message, fg=typer.colors.GREEN)


def note(message: str) -> None:
    """A hint for a human that must not pollute stdout."""
    typer.secho(message, dim=True, err=True)


def _check_output(value: str | None) -> str | None:
    if value is not None and value.lower() != "json":
        fail("Only 'json' output format is supported.")
    return value


def is_json(output: str | None) -> bool:
    return output is not None


OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="json",
        callback=_check_output,
        help="Print compact JSON on one line (for scripts and `jq`) instead of a table.",
    ),
]


def limit_option(default_help: str) -> OptionInfo:
    """A `--limit` option checked by typer: 1 to MAX_LIMIT."""
    option: OptionInfo = typer.Option("--limit", min=1, max=MAX_LIMIT, help=default_help)
    return option


def parse_uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"Invalid {what} {value!r}: not a UUID.")


def dump_json(payload: Any) -> None:
    """Compact JSON on stdout (no wrapping, no colour), one line."""
    typer.echo(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def fetch_pages(fetch: Callable[[int | None, int], Sequence[T]], limit: int | None) -> list[T]:
    """Call `fetch(page_limit, offset)` page by page until `limit` items or the end.

    Pages hold PAGE_SIZE items unless the server allows fewer: it refuses the
    first page then, naming its maximum, and that maximum is used from there on
    (one extra request per listing, none per page). With no `limit`, pages are
    asked with `page_limit=None` (the server's own default page size, whatever it
    is configured to) until one comes back empty.
    """
    items: list[T] = []
    page_size = PAGE_SIZE
    while limit is None or len(items) < limit:
        size = None if limit is None else min(page_size, limit - len(items))
        try:
            page = fetch(size, len(items))
        except LimitTooLarge as exc:
            if size is None or not 0 < exc.max_limit < size:  # retrying would not help
                raise
            page_size = exc.max_limit
            continue
        items.extend(page)
        if not page or (size is not None and len(page) < size):
            break
    return items


def _database_errors(embedded: bool) -> tuple[type[Exception], ...]:
    if not embedded:
        return ()
    # The embedded transport loads SQLAlchemy anyway; a remote one never needs it.
    from sqlalchemy.exc import SQLAlchemyError

    return (SQLAlchemyError,)


@contextmanager
def connect() -> Iterator[RunfolioClient]:
    """The client from the RUNFOLIO_* settings, closed afterwards; expected errors exit 1."""
    try:
        settings = load_settings()
    except RunfolioError as exc:
        fail(str(exc))
    db_errors = _database_errors(embedded=settings.api_url is None)
    open_errors: tuple[type[Exception], ...] = (OSError, *db_errors)
    target = settings.api_url or settings.resolved_database_url()
    try:
        client = client_for(settings)
    except open_errors as exc:
        fail(f"Cannot open the database {target}: {exc}")
    except RunfolioError as exc:  # e.g. an outbox file that is not one: the error names it
        fail(str(exc))
    try:
        yield client
    except ServerUnreachable as exc:
        fail(
            f"{exc}\nIs the server running (`runfolio server start`)? "
            "Unset RUNFOLIO_API_URL to use the local store instead."
        )
    except RunfolioError as exc:
        fail(str(exc))
    except db_errors as exc:
        fail(f"Cannot use the database {target}: {exc}")
    finally:
        client.close()
