"""`runfolio server start`: serve the API and UI on the configured database."""

from __future__ import annotations

import ipaddress
import os
import signal
from types import FrameType

import typer

from runfolio.cli._common import fail
from runfolio.errors import SettingsError
from runfolio.settings import MAX_SERVER_WORKERS, Settings, load_settings

app = typer.Typer(
    help="Run the runfolio server.\n\nExample: runfolio server start --port 4200 --workers 4",
    no_args_is_help=True,
)


@app.command("start")
def start(
    host: str | None = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port to bind (default 4200)."),
    workers: int | None = typer.Option(
        None,
        min=1,
        max=MAX_SERVER_WORKERS,
        help="Server processes sharing the port and the database "
        "(default RUNFOLIO_SERVER_WORKERS, 1).",
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Serve a non-loopback address with no users and no auth string: anyone who "
        "can reach it may read and delete everything.",
    ),
) -> None:
    """Start the server on RUNFOLIO_DATABASE_URL (default: the SQLite file in RUNFOLIO_HOME).

    Example: runfolio server start --port 4200 --workers 4
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    host = host or settings.server_host
    port = port or settings.server_port
    workers = workers if workers is not None else settings.server_workers
    settings = _secured(settings, host, insecure_no_auth)
    url = f"http://{host}:{port}"
    if workers > 1:
        _start_workers(settings, host, port, workers, log_level)
        return
    import uvicorn

    from runfolio.server.app import create_app

    app_ = create_app(settings)
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


def _start_workers(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    """Run `workers` server processes on one port with uvicorn's own supervisor.

    uvicorn binds the socket here and spawns the workers, each of which builds its
    app from the import-string factory and the environment it inherits (the
    settings this process read). SIGTERM or Ctrl-C stops them all gracefully.
    """
    from uvicorn import Config
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from runfolio.server.app import WORKER_APP_FACTORY
    from runfolio.store.engine import connect

    # Open (and migrate) the database once, before the workers: they then find it at
    # the head revision instead of racing to create it, and a bad URL fails here.
    connect(
        settings.resolved_database_url(),
        synchronous=settings.sqlite_synchronous,
        write_timeout=settings.write_timeout,
        pool_size=1,
    ).dispose()
    config = Config(
        WORKER_APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
    url = f"http://{host}:{port}"
    sock = config.bind_socket()
    typer.echo(f"runfolio server on {url}  (API {url}/api, docs {url}/api/docs)")
    typer.echo(f"database: {settings.resolved_database_url()}  ({workers} workers)")
    typer.echo("Press Ctrl-C to stop.")
    # The supervisor handles SIGTERM and SIGINT itself: it stops every worker
    # (each finishes its requests and closes its pool), then returns.
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        sock.close()
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        fail("A server worker failed to start (its error is above); the server stopped.")
    typer.echo("runfolio server stopped.")


LOOPBACK_HOSTS = "localhost,127.0.0.1,::1,[::1]"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _secured(settings: Settings, host: str, insecure_no_auth: bool) -> Settings:
    """Refuse to serve a network address with nobody to authenticate, and answer only to
    the loopback names on a loopback address (DNS rebinding). The Host allow-list goes
    into the environment too, where the worker processes read their settings."""
    from runfolio.store import accounts
    from runfolio.store.engine import connect, read

    loopback = _is_loopback(host)
    if not loopback and settings.server_auth_string is None and not insecure_no_auth:
        engine = connect(settings.resolved_database_url(), pool_size=1)
        try:
            with read(engine) as conn:
                has_users = accounts.any_active_user(conn)
        finally:
            engine.dispose()
        if not has_users:
            fail(
                f"Refusing to serve {host} with no users: anyone who can reach it could read "
                "and delete everything. Create an admin first (`runfolio user create NAME "
                "--admin`), set RUNFOLIO_SERVER_AUTH_STRING, or pass --insecure-no-auth."
            )
    if settings.allowed_hosts is None and loopback:
        os.environ["RUNFOLIO_ALLOWED_HOSTS"] = LOOPBACK_HOSTS
        return settings.model_copy(update={"allowed_hosts": LOOPBACK_HOSTS})
    return settings


class _Stopped(Exception):
    """Raised by the SIGTERM handler once the server has shut down."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
