"""Fixtures for running the unmodified Prefect client against a real runfolio server.

The server runs with auth on, as a shared deployment would: an admin user, a `ci-bot`
user with the write role, their API keys, and the named workspaces the tests use, all
made in its database before it starts. The Prefect user carries ci-bot's key the way
that works end to end with the 3.9.1 client (`PREFECT_API_AUTH_STRING=ci-bot:<key>`,
see test_auth_configurations.py for the other ways and what they do).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from tests.compat.prefect_venv import ensure_prefect_venv, venv_python
from tests.servers import ServerProcess, running_server
from tests.workspaces import create_workspaces

COMMAND_TIMEOUT_S = 180
# What the client prints when something went wrong, however harmless it looked.
TROUBLE = re.compile(r"\bWARNING\b|\bERROR\b|\bCRITICAL\b|Traceback|Warning:")
# The one warning that says nothing about the server: the client logs it when its
# process starts shutting down while events are still queued for sending, which
# depends only on how busy the machine is (its events are still sent before exit;
# the tests check that they arrived).
SHUTDOWN_DRAIN = re.compile(r"\| WARNING \| EventsWorker - Still processing items: \d+ items")


# Nor does a Dask worker's heartbeat that finds the scheduler's stream already closed
# while the cluster shuts down: distributed logs it as an error with its traceback (up to
# the CommClosedError), on a busy machine, after every task has finished.
DASK_HEARTBEAT_AT_CLOSE = re.compile(
    r"^.*\| ERROR +\| distributed\.worker - Failed to communicate with scheduler during "
    r"heartbeat\.\n(?:(?!\d\d:\d\d:\d\d\.\d+ \|).*\n)*?"
    r"distributed\.comm\.core\.CommClosedError: .*Stream is closed\n",
    re.MULTILINE,
)


def trouble(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a run's output that show a warning, an error or a traceback."""
    output = DASK_HEARTBEAT_AT_CLOSE.sub("", result.stdout + "\n" + result.stderr + "\n")
    return [x for x in output.splitlines() if TROUBLE.search(x) and not SHUTDOWN_DRAIN.search(x)]


@pytest.fixture(scope="session")
def prefect_python() -> Path:
    """`python` of the cached virtualenv holding prefect==3.9.1 (built on first use)."""
    return venv_python(ensure_prefect_venv())


DEFAULT = "default/default"
# The named workspaces the compat tests address (an admin creates them; never by use).
NAMED_WORKSPACES = ("abc/xyz",)
# The env variables through which the Prefect client finds its credentials.
CREDENTIAL_VARIABLES = ("PREFECT_API_KEY", "PREFECT_API_AUTH_STRING", "PREFECT_CLOUD_API_URL")
# `server` runs with users and keys (the default), or with only a server auth string.
KEYS = "keys"
SERVER_AUTH_STRING = "server-auth-string"


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@dataclass
class Runfolio:
    """A real runfolio server with auth on, and the credentials it was set up with.

    `keys[(user, workspace)]` is that user's key there: ci-bot's have the write role,
    admin's the admin role (deletes need it). With only a server auth string
    (`auth_string`), there are no users and no keys.
    """

    process: ServerProcess
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    auth_string: str | None = None

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def api_url(self) -> str:
        return self.process.api_url

    def admin_headers(self, workspace: str = DEFAULT) -> dict[str, str]:
        """Headers for checking, through runfolio's own API, what the client left behind."""
        if self.auth_string is not None:
            return {"Authorization": basic(self.auth_string)}
        return {"Authorization": f"Bearer {self.keys[('admin', workspace)]}"}

    def client(self, workspace: str = DEFAULT) -> httpx.Client:
        """An admin's client for runfolio's API in `workspace` (its base URL included)."""
        base = self.api_url
        if workspace != DEFAULT:
            account, name = workspace.split("/")
            base = f"{base}/accounts/{account}/workspaces/{name}"
        return httpx.Client(base_url=base, headers=self.admin_headers(workspace), timeout=30)


def _set_up_accounts(database_url: str) -> dict[tuple[str, str], str]:
    """The admin and ci-bot users, the named workspaces, and a key per user and workspace."""
    engine = connect(database_url)
    try:
        create_workspaces(engine, *NAMED_WORKSPACES)
        keys: dict[tuple[str, str], str] = {}
        with write(engine) as conn:
            admin = accounts.create_user(conn, "admin", secrets.token_urlsafe(16), is_admin=True)
            bot = accounts.create_user(conn, "ci-bot", secrets.token_urlsafe(16), is_admin=False)
            for path in (DEFAULT, *NAMED_WORKSPACES):
                workspace = workspaces.find(conn, path)
                accounts.set_role(conn, bot, workspace, Role.WRITE)
                _, keys[("ci-bot", path)] = accounts.create_key(
                    conn, bot, workspace, Role.WRITE, "compat"
                )
                _, keys[("admin", path)] = accounts.create_key(
                    conn, admin, workspace, Role.ADMIN, "compat checks"
                )
        return keys
    finally:
        engine.dispose()


@pytest.fixture
def server(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str | None
) -> Iterator[Runfolio]:
    """A real server with auth on: users and keys (default), or with
    `@pytest.mark.parametrize("server", [SERVER_AUTH_STRING], indirect=True)` only
    RUNFOLIO_SERVER_AUTH_STRING=admin:<password>."""
    mode = getattr(request, "param", KEYS)
    home = tmp_path / "server-home"
    home.mkdir()
    url = database_url or f"sqlite:///{home / 'runfolio.db'}"
    env = {"RUNFOLIO_DATABASE_URL": url}
    keys: dict[tuple[str, str], str] = {}
    auth_string = None
    if mode == KEYS:
        keys = _set_up_accounts(url)
    else:
        assert mode == SERVER_AUTH_STRING, mode
        engine = connect(url)
        try:
            create_workspaces(engine, *NAMED_WORKSPACES)
        finally:
            engine.dispose()
        auth_string = f"admin:{secrets.token_urlsafe(16)}"
        env["RUNFOLIO_SERVER_AUTH_STRING"] = auth_string
    with running_server(home, env) as proc:
        yield Runfolio(proc, keys, auth_string)


@pytest.fixture
def runfolio_api(server: Runfolio) -> Iterator[httpx.Client]:
    """An admin's client for runfolio's own API in the default workspace (for checking
    what the Prefect client left behind)."""
    with server.client() as client:
        yield client


@dataclass
class PrefectUser:
    """Someone with the Prefect client installed, pointed at a runfolio server."""

    python: Path
    env: dict[str, str]
    cwd: Path
    server: Runfolio

    def sign_in(self, **variables: str) -> None:
        """Replace the client's credential settings with `variables` (none: no credentials)."""
        for name in CREDENTIAL_VARIABLES:
            self.env.pop(name, None)
        self.env.update(variables)

    def as_user(self, user: str, workspace: str = DEFAULT) -> None:
        """Use `user`'s key in `workspace` the way that works end to end (user:key as
        the auth string: the client sends it on REST and on the events websocket)."""
        self.sign_in(PREFECT_API_AUTH_STRING=f"{user}:{self.server.keys[(user, workspace)]}")

    def as_cloud_user(self, user: str, workspace: str = DEFAULT) -> None:
        """Use `user`'s key as PREFECT_API_KEY, with PREFECT_CLOUD_API_URL set to this
        server's API URL: the client then treats runfolio as Prefect Cloud, and sends
        the key as a bearer header on the events websocket too."""
        self.sign_in(
            PREFECT_API_KEY=self.server.keys[(user, workspace)],
            PREFECT_CLOUD_API_URL=self.server.api_url,
        )

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`prefect <args>` (run as a module: the venv's console scripts are not used)."""
        return self.run("-m", "prefect", *args)

    def script(self, name: str, source: str) -> subprocess.CompletedProcess[str]:
        path = self.cwd / name
        path.write_text(source)
        return self.run(str(path))


def prefect_env(api_url: str, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "RUNFOLIO_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_CLI_COLORS": "false",
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture
def prefect_user(prefect_python: Path, server: Runfolio, tmp_path: Path) -> PrefectUser:
    """The Prefect client with PREFECT_API_URL=<runfolio server>/api and its own PREFECT_HOME,
    signed in as ci-bot (write role) or, on a server with only an auth string, with it."""
    work = tmp_path / "work"
    work.mkdir()
    env = prefect_env(server.api_url, tmp_path / "prefect-home")
    user = PrefectUser(python=prefect_python, env=env, cwd=work, server=server)
    if server.auth_string is not None:
        user.sign_in(PREFECT_API_AUTH_STRING=server.auth_string)
    else:
        user.as_user("ci-bot")
    return user


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return f"--- exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def one_line(text: str) -> str:
    """`text` with all whitespace runs made single spaces (rich wraps long lines)."""
    return " ".join(text.split())
