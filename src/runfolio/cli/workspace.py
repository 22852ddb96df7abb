"""`runfolio workspace create | ls`: the workspaces an admin makes (never made by use)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from runfolio.cli._admin import database
from runfolio.cli._common import OutputOption, dump_json, is_json, succeed
from runfolio.cli._format import make_table, when_cell
from runfolio.humanize import iso
from runfolio.store import workspaces
from runfolio.store.engine import read, write

app = typer.Typer(
    help="Create and list workspaces (on the database itself, as its admin).\n\n"
    "Example: runfolio workspace create acme/team",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.command("create")
def create(
    path: Annotated[
        str, typer.Argument(metavar="ACCOUNT/NAME", help="The new workspace.", show_default=False)
    ],
) -> None:
    """Create workspace ACCOUNT/NAME; exits 1 if it exists or the name is not allowed.

    Each part: 1 to 100 lowercase letters, digits, dots, dashes or underscores,
    starting and ending with a letter or digit.

    Example: runfolio workspace create acme/team
    """
    with database() as engine, write(engine) as conn:
        created = workspaces.create(conn, path)
    succeed(f"Created workspace {created.path}.")
    typer.echo(f"Give users a role in it: runfolio user set-role NAME {created.path} write")


@app.command("ls")
def ls(output: OutputOption = None) -> None:
    """List every workspace: when it was created and how many users have a role in it.

    Server admins are admins of every workspace without being counted as members.

    Example: runfolio workspace ls --output json
    """
    with database() as engine, read(engine) as conn:
        found = workspaces.list_summaries(conn)
    if is_json(output):
        dump_json(
            [
                {
                    "workspace": s.workspace.path,
                    "account": s.workspace.account,
                    "name": s.workspace.name,
                    "created": iso(s.created),
                    "members": s.members,
                }
                for s in found
            ]
        )
        return
    table = make_table("Workspaces")
    for column in ("Workspace", "Created (UTC)", "Members"):
        table.add_column(column)
    for s in found:
        table.add_row(s.workspace.path, when_cell(s.created), str(s.members))
    Console().print(table)
