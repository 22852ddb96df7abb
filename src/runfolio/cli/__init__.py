"""The `runfolio` command line: one module per command group."""

from __future__ import annotations

import typer

from runfolio._version import __version__
from runfolio.cli import (
    artifact,
    db,
    flow_run,
    key,
    outbox,
    retention,
    server,
    user,
    webhook,
    workspace,
)

app = typer.Typer(
    name="runfolio",
    help="runfolio: run artifacts for Python workflows.\n\n"
    "Works on the local store (RUNFOLIO_HOME) or, when RUNFOLIO_API_URL is set, "
    "against a runfolio server.\n\n"
    "Example: runfolio artifact ls",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(artifact.app, name="artifact")
app.add_typer(db.app, name="db")
app.add_typer(flow_run.app, name="flow-run")
app.add_typer(key.app, name="key")
app.add_typer(outbox.app, name="outbox")
app.add_typer(retention.app, name="retention")
app.add_typer(server.app, name="server")
app.add_typer(user.app, name="user")
app.add_typer(webhook.app, name="webhook")
app.add_typer(workspace.app, name="workspace")
app.command("gc")(retention.gc)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runfolio {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """runfolio: run artifacts for Python workflows."""


def main() -> None:
    app(prog_name="runfolio")
