"""`runfolio server start`: serve the API and UI on the configured database."""

from __future__ import annotations

import typer

from runfolio.errors import SettingsError
from runfolio.settings import load_settings

app = typer.Typer(
    help="Run the runfolio server.\n\nExample: runfolio server start --port 4200",
    no_args_is_help=True,
)


@app.command("start")
def start(
    host: str | None = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port to bind (default 4200)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Start the server on RUNFOLIO_DATABASE_URL (default: the SQLite file in RUNFOLIO_HOME).

    Example: runfolio server start --port 4200
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None
    import uvicorn

    from runfolio.server.app import create_app

    host = host or settings.server_host
    port = port or settings.server_port
    app_ = create_app(settings)
    url = f"http://{host}:{port}"
    typer.echo(f"runfolio server on {url}  (API {url}/api, docs {url}/api/docs)")
    typer.echo(f"database: {settings.resolved_database_url()}")
    typer.echo("Press Ctrl-C to stop.")
    uvicorn.run(app_, host=host, port=port, log_level=log_level, access_log=False)
    typer.echo("runfolio server stopped.")
