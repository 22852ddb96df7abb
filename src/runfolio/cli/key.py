"""`runfolio key create | ls | revoke`: API keys, made on the database itself.

A key acts for one user in one workspace with at most that user's role; its secret
is printed once, at creation (the database keeps only its digest).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Connection

from runfolio.cli._admin import database
from runfolio.cli._common import OutputOption, dump_json, fail, is_json, succeed
from runfolio.cli._format import exact, make_table, when_cell
from runfolio.humanize import iso
from runfolio.ops.access import Role
from runfolio.schemas.common import utcnow
from runfolio.store import accounts, workspaces
from runfolio.store.engine import read, write

app = typer.Typer(
    help="Create, list and revoke API keys (on the database itself, as its admin).\n\n"
    "Example: runfolio key create --workspace acme/team --role write --name ci-bot",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_EXPIRES = re.compile(r"^([1-9][0-9]{0,5})([hdw])$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
#: The longest lifetime --expires accepts (beyond it: no --expires, a key that never expires).
MAX_LIFETIME = dt.timedelta(days=3660)
#: Below this many columns, `key ls` shows relative times only (its table has 9 columns).
WIDE_KEYS = 140


def parse_lifetime(text: str) -> dt.timedelta:
    """`12h`, `90d`, `4w` → the timedelta; anything else exits 1 naming the form."""
    found = _EXPIRES.match(text.strip())
    lifetime = None
    if found:
        lifetime = dt.timedelta(hours=int(found[1]) * _UNIT_HOURS[found[2]])
    if lifetime is None or lifetime > MAX_LIFETIME:
        fail(
            f"--expires {text!r}: give a number of hours, days or weeks such as 12h, 90d or 4w "
            f"(at most {MAX_LIFETIME.days} days; leave --expires out for a key that never "
            "expires)."
        )
    return lifetime


def _parse_role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as exc:
        fail(f"--role: {exc}.")


def _key_user(conn: Connection, name: str | None) -> accounts.User:
    """The named user, else the only active server admin; exits 1 when that is ambiguous."""
    if name is not None:
        return accounts.find_user(conn, name)
    admins = [u for u in accounts.list_users(conn) if u.is_admin and not u.disabled]
    if len(admins) == 1:
        return admins[0]
    if not admins:
        fail(
            "--user is required: there is no server admin to default to "
            "(create one with `runfolio user create NAME --admin`)."
        )
    names = ", ".join(u.username for u in admins)
    fail(f"--user is required: there are {len(admins)} server admins ({names}); name one.")


@app.command("create")
def create(
    workspace: Annotated[
        str,
        typer.Option(
            "--workspace",
            metavar="ACCOUNT/NAME",
            help="The workspace the key acts in.",
            show_default=False,
        ),
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="read, write or admin (at most the user's).",
            show_default=False,
        ),
    ],
    name: Annotated[
        str,
        typer.Option("--name", help="What the key is for, e.g. ci-bot.", show_default=False),
    ],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", metavar="Nh|Nd|Nw", help="Lifetime, e.g. 90d (default: never expires)."
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="NAME",
            help="The user the key acts for (default: the server admin, if there is only one).",
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Create an API key and print it, once: it cannot be shown again.

    The key has at most its user's role in the workspace, now and later (lowering
    the user's role lowers the key's; disabling the user stops it).

    [bold]Examples[/bold]

      runfolio key create --workspace acme/team --role write --name ci-bot --expires 90d

      runfolio key create --workspace acme/team --role read --name dash --user alice -o json
    """
    key_role = _parse_role(role)
    lifetime = None if expires is None else parse_lifetime(expires)
    with database() as engine, write(engine) as conn:
        owner = _key_user(conn, user)
        place = workspaces.find(conn, workspace)
        until = None if lifetime is None else utcnow() + lifetime
        key, secret = accounts.create_key(conn, owner, place, key_role, name, until)
    if is_json(output):
        dump_json({**_key_json(key, utcnow()), "key": secret})
        return
    ending = f"expires {exact(key.expires)}" if key.expires else "never expires"
    succeed(
        f"Created key {key.name} ({key.prefix}) for {key.username}: "
        f"{key.role.label} in {key.workspace}, {ending}."
    )
    typer.echo(f"\n    {secret}\n")
    typer.echo("This key will not be shown again: store it now. Use it with")
    typer.echo(f"    export RUNFOLIO_API_KEY={secret}")


def _key_json(key: accounts.ApiKey, now: dt.datetime) -> dict[str, Any]:
    def moment(value: dt.datetime | None) -> str | None:
        return None if value is None else iso(value)

    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "user": key.username,
        "role": key.role.label,
        "workspace": key.workspace,
        "created": iso(key.created),
        "last_used": moment(key.last_used),
        "expires": moment(key.expires),
        "revoked": moment(key.revoked),
        "status": key.status(now),
    }


@app.command("ls")
def ls(output: OutputOption = None) -> None:
    """List every API key (never its secret): active, revoked or expired.

    Example: runfolio key ls --output json
    """
    with database() as engine, read(engine) as conn:
        keys = accounts.list_keys(conn)
    now = utcnow()
    if is_json(output):
        dump_json([_key_json(key, now) for key in keys])
        return
    if not keys:
        typer.echo("No API keys. Create one with `runfolio key create`.")
        return
    console = Console()
    wide = console.width >= WIDE_KEYS
    table = make_table("API keys")
    zone = " (UTC)" if wide else ""  # narrow: relative times only
    for column in ("Name", "Prefix", "User", "Role", "Workspace"):
        table.add_column(column, no_wrap=column == "Prefix", overflow="fold")
    for column in ("Created", "Last used", "Expires"):
        table.add_column(column + zone)
    table.add_column("Status")
    for key in keys:
        table.add_row(
            key.name,
            key.prefix,
            key.username,
            key.role.label,
            key.workspace,
            when_cell(key.created, wide),
            when_cell(key.last_used, wide),
            when_cell(key.expires, wide),
            key.status(now),
        )
    console.print(table)


@app.command("revoke")
def revoke(
    key: Annotated[
        str,
        typer.Argument(
            metavar="PREFIX|ID", help="The key's prefix (rfk_...) or id.", show_default=False
        ),
    ],
) -> None:
    """Revoke an API key: it stops working at once (a running server: within a second).

    Revoking a revoked key changes nothing.

    Example: runfolio key revoke rfk_0123456789ab
    """
    with database() as engine, write(engine) as conn:
        revoked = accounts.revoke_key(conn, key)
    assert revoked.revoked is not None  # revoke_key's promise
    succeed(
        f"Key {revoked.name} ({revoked.prefix}) of {revoked.username} in {revoked.workspace} "
        f"is revoked (since {exact(revoked.revoked)})."
    )
