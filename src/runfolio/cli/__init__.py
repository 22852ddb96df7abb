"""The `runfolio` command line: one module per command group."""

from __future__ import annotations

import typer

from runfolio._version import __version__
from runfolio.cli import server

app = typer.Typer(
    name="runfolio",
    help="runfolio: run artifacts for Python workflows.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(server.app, name="server")


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
    app()
