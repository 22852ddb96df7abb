"""`runfolio server start`: serve the API and UI on the configured database."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from runfolio.cli._common import fail
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
        fail(str(exc))
    import uvicorn

    from runfolio.server.app import create_app

    host = host or settings.server_host
    port = port or settings.server_port
    app_ = create_app(settings)
    url = f"http://{host}:{port}"
    typer.echo(f"runfolio server on {url}  (API {url}/api, docs {url}/api/docs)")
    typer.echo(f"database: {settings.resolved_database_url()}")
    typer.echo("Press Ctrl-C to stop.")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal;
    # these handlers turn that into an ordinary return, so the exit code is 0.
    signal.signal(signal.SIGTERM, _stop)
    try:
        uvicorn.run(app_, host=host, port=port, log_level=log_level, access_log=False)
    except (_Stopped, KeyboardInterrupt):
        pass
    typer.echo("runfolio server stopped.")


class _Stopped(Exception):
    """Raised by the SIGTERM handler once the server has shut down."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
