"""`runfolio outbox status | flush | drop`: the writes queued while a server was away.

The outbox is `outbox.db` in RUNFOLIO_HOME. Records name their server URL, never
a credential: `flush` sends RUNFOLIO_API_KEY to a server only when
RUNFOLIO_API_URL is unset or names the same server (scheme, host and port).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated
from urllib.parse import urlsplit

import typer

from runfolio.cli._common import OutputOption, dump_json, fail, is_json, note, succeed
from runfolio.cli._format import EMPTY, make_table, when
from runfolio.client.outbox import Outbox, default_path, open_outbox
from runfolio.errors import OutboxError, SettingsError
from runfolio.humanize import duration
from runfolio.settings import Settings, load_settings

app = typer.Typer(
    help="The outbox: writes queued on this machine while a server did not answer.\n\n"
    "Example: runfolio outbox status",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def _open(settings: Settings) -> Outbox | None:
    """The outbox of RUNFOLIO_HOME, or None when there is no file (nothing was queued)."""
    path = default_path(settings.home)
    if not path.exists():
        return None
    try:
        return open_outbox(path, settings.outbox_max_bytes)
    except OutboxError as exc:
        fail(str(exc))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def key_for(target: str, settings: Settings) -> str | None:
    """RUNFOLIO_API_KEY, for the server it was meant for (never sent to another)."""
    if settings.api_key and (
        settings.api_url is None or _origin(settings.api_url) == _origin(target)
    ):
        return settings.api_key
    return None


@app.command("status")
def status(output: OutputOption = None) -> None:
    """Show what is queued, per server URL: records, the oldest one's age, size, and the
    records a server refused for good (kept aside, never dropped).

    [bold]Examples[/bold]

      runfolio outbox status
      runfolio outbox status -o json
    """
    settings = _settings()
    box = _open(settings)
    path = default_path(settings.home)
    rows = box.status() if box is not None else []
    now = time.time()
    if is_json(output):
        dump_json(
            {
                "file": str(path),
                "file_bytes": box.file_bytes() if box is not None else 0,
                "targets": [
                    {
                        "target": row.target,
                        "records": row.records,
                        "oldest_age_seconds": None if row.oldest is None else now - row.oldest,
                        "bytes": row.bytes,
                        "rejected": row.rejected,
                    }
                    for row in rows
                ],
            }
        )
        return
    if not rows:
        succeed(f"The outbox is empty ({path}).")
        return
    table = make_table("Outbox")
    for column in ("server", "records", "oldest", "size", "refused"):
        table.add_column(column)
    for row in rows:
        oldest = (
            EMPTY if row.oldest is None else when(dt.datetime.fromtimestamp(row.oldest, dt.UTC))
        )
        table.add_row(row.target, str(row.records), oldest, f"{row.bytes:,} B", str(row.rejected))
    from rich.console import Console

    Console(soft_wrap=True).print(table)
    note(f"{path}: {box.file_bytes() if box else 0:,} bytes on disk")


@app.command("flush")
def flush(
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0, help="Seconds to keep trying before giving up."),
    ] = 60.0,
) -> None:
    """Deliver the queued writes now, to every server they are for, in order.

    Exits 1 when something is still queued at the end (a server that does not
    answer, or refuses the credentials); it stays queued for the next try.

    [bold]Examples[/bold]

      runfolio outbox flush
      runfolio outbox flush --timeout 300
    """
    from runfolio.client.sender import release, sender_for

    settings = _settings()
    box = _open(settings)
    targets = box.targets() if box is not None else []
    if box is None or not targets:
        succeed("Nothing is queued.")
        return
    deadline = time.monotonic() + timeout
    left_total = 0
    started = time.monotonic()
    for target in targets:
        sender = sender_for(box, target, key_for(target, settings), settings.http_timeout)
        try:
            progress = sender.deliver(deadline)
        except OutboxError as exc:
            fail(str(exc))
        finally:
            release(sender)
        left = box.count(target)
        left_total += left
        line = f"{target}: delivered {progress.delivered}"
        if progress.rejected:
            line += f", refused {progress.rejected} (kept aside, see `runfolio outbox status`)"
        why = progress.last_error or sender.last_error
        if left:
            typer.secho(
                f"{line}; {left} still queued ({why or 'out of time'}).",
                fg=typer.colors.RED,
                err=True,
            )
        else:
            succeed(f"{line}; nothing left ({duration(time.monotonic() - started)}).")
    if left_total:
        raise typer.Exit(1)


@app.command("drop")
def drop(
    target: Annotated[
        str | None, typer.Option("--target", help="Only the records for this server URL.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete queued writes without delivering them (all, or one server's).

    They are lost for good: the server never sees them.

    [bold]Examples[/bold]

      runfolio outbox drop --yes
      runfolio outbox drop --target http://127.0.0.1:4200/api --yes
    """
    settings = _settings()
    box = _open(settings)
    if box is None:
        succeed("Nothing is queued.")
        return
    queued = sum(
        row.records + row.rejected
        for row in box.status()
        if target is None or row.target == target.rstrip("/")
    )
    if not queued:
        succeed("Nothing is queued.")
        return
    if not yes:
        import sys

        try:
            agreed = typer.confirm(
                f"Delete {queued} queued record(s) without delivering them?",
                default=False,
                err=True,
            )
        except typer.Abort:
            agreed = False
        if not sys.stdin.isatty():
            typer.echo("", err=True)
        if not agreed:
            fail("Nothing was dropped.")
    dropped = box.drop(target.rstrip("/") if target else None)
    succeed(f"Dropped {dropped} record(s).")
