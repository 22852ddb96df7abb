"""`runfolio user create | ls | set-role | disable | enable | set-password`: accounts of
the server's users, managed on the database itself."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from runfolio.cli._admin import PasswordStdinOption, database, read_password
from runfolio.cli._common import OutputOption, dump_json, fail, is_json, succeed
from runfolio.cli._format import EMPTY, make_table, when_cell
from runfolio.humanize import iso, plural
from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import read, write

app = typer.Typer(
    help="Create and manage users and their roles (on the database itself, as its admin).\n\n"
    "Example: runfolio user create alice; runfolio user set-role alice acme/team write",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The user.", show_default=False)]
#: `set-role`'s word for removing a user from a workspace.
NO_ROLE = "none"


@app.command("create")
def create(
    name: NameArgument,
    admin: Annotated[
        bool,
        typer.Option("--admin", help="A server admin: admin of every workspace, manages users."),
    ] = False,
    password_stdin: Annotated[bool, PasswordStdinOption] = False,
) -> None:
    """Create a user; the password is typed twice at a hidden prompt (or --password-stdin).

    Names: 1 to 64 lowercase letters, digits, dots, dashes or underscores, starting and
    ending with a letter or digit. Passwords: 8 to 1024 characters.

    [bold]Examples[/bold]

      runfolio user create alice --admin

      printf '%s\\n' "$PASSWORD" | runfolio user create ci --password-stdin
    """
    with database() as engine:
        # Checked before the password is typed: nobody types one for a name refused.
        with read(engine) as conn:
            accounts.check_new_username(conn, name)
        password = read_password(password_stdin)
        with write(engine) as conn:
            user = accounts.create_user(conn, name, password, is_admin=admin)
    kind = "server admin" if user.is_admin else "user"
    succeed(f"Created {kind} {user.username}.")
    if not user.is_admin:
        typer.echo(f"Give them a role: runfolio user set-role {user.username} ACCOUNT/NAME write")


def _user_json(user: accounts.User, roles: list[tuple[workspaces.Workspace, Role]]) -> Any:
    return {
        "name": user.username,
        "admin": user.is_admin,
        "disabled": user.disabled,
        "created": iso(user.created),
        "workspaces": [{"workspace": ws.path, "role": role.label} for ws, role in roles],
    }


@app.command("ls")
def ls(output: OutputOption = None) -> None:
    """List users: admin or not, disabled or not, created, and their role in each workspace.

    Example: runfolio user ls --output json
    """
    with database() as engine, read(engine) as conn:
        users = accounts.list_users(conn)
        roles = accounts.memberships_of(conn)
    if is_json(output):
        dump_json([_user_json(user, roles.get(user.id, [])) for user in users])
        return
    if not users:
        typer.echo("No users: the server is open on loopback. Create one with `user create`.")
        return
    table = make_table("Users")
    for column in ("Name", "Admin", "Disabled", "Created (UTC)", "Workspaces"):
        table.add_column(column)
    for user in users:
        held = ", ".join(f"{ws.path} ({role.label})" for ws, role in roles.get(user.id, []))
        table.add_row(
            user.username,
            "yes" if user.is_admin else "no",
            "yes" if user.disabled else "no",
            when_cell(user.created),
            held or EMPTY,
        )
    Console().print(table)


def _parse_role(text: str) -> Role | None:
    if text.strip().lower() == NO_ROLE:
        return None
    try:
        return Role.parse(text)
    except ValueError as exc:
        fail(f"{exc}, or {NO_ROLE} to remove the user from the workspace.")


@app.command("set-role")
def set_role(
    name: NameArgument,
    workspace: Annotated[
        str, typer.Argument(metavar="ACCOUNT/NAME", help="The workspace.", show_default=False)
    ],
    role: Annotated[
        str,
        typer.Argument(metavar="ROLE", help="read, write, admin, or none.", show_default=False),
    ],
) -> None:
    """Give a user a role in a workspace: read, write, admin, or none (remove them).

    The user's keys for that workspace keep at most the new role: lowering the role
    lowers them, `none` revokes them.

    Example: runfolio user set-role alice acme/team write
    """
    new_role = _parse_role(role)
    with database() as engine, write(engine) as conn:
        user = accounts.find_user(conn, name)
        place = workspaces.find(conn, workspace)
        changed = accounts.set_role(conn, user, place, new_role)
    keys = f"{plural(changed, 'key')} of theirs in {place.path}"
    if new_role is None:
        succeed(f"{user.username} no longer has a role in {place.path}.")
        typer.echo(f"{keys} revoked." if changed else f"No active keys of theirs in {place.path}.")
    else:
        succeed(f"{user.username} now has the {new_role.label} role in {place.path}.")
        lowered = f"{keys} lowered to {new_role.label}."
        typer.echo(lowered if changed else f"No keys of theirs in {place.path} held more.")
    if user.is_admin:
        typer.echo(f"{user.username} is a server admin: admin of every workspace all the same.")


def _set_disabled(name: str, disabled: bool) -> accounts.User:
    with database() as engine, write(engine) as conn:
        return accounts.set_disabled(conn, name, disabled)


@app.command("disable")
def disable(name: NameArgument) -> None:
    """Disable a user: they cannot sign in, their sessions end and their keys stop working.

    Nothing of theirs is deleted; `user enable` undoes it (their keys work again).

    Example: runfolio user disable alice
    """
    user = _set_disabled(name, True)
    succeed(f"Disabled {user.username}: signed out, and their keys stop working.")


@app.command("enable")
def enable(name: NameArgument) -> None:
    """Enable a disabled user again: they can sign in and their keys work again.

    Example: runfolio user enable alice
    """
    user = _set_disabled(name, False)
    succeed(f"Enabled {user.username}.")


@app.command("set-password")
def set_password(
    name: NameArgument,
    password_stdin: Annotated[bool, PasswordStdinOption] = False,
) -> None:
    """Set a user's password (typed twice at a hidden prompt, or --password-stdin).

    Their UI sessions end; their API keys are not affected.

    Example: runfolio user set-password alice
    """
    with database() as engine:
        with read(engine) as conn:
            accounts.find_user(conn, name)  # before the password is typed
        password = read_password(password_stdin)
        with write(engine) as conn:
            accounts.set_password(conn, name, password)
    succeed(f"Changed the password of {name}; their sessions ended.")
