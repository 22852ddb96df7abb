"""Fixtures for running the unmodified Prefect client against a real runfolio server."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compat.prefect_venv import ensure_prefect_venv, venv_python
from tests.servers import ServerProcess

COMMAND_TIMEOUT_S = 180
# What the client prints when something went wrong, however harmless it looked.
TROUBLE = re.compile(r"\bWARNING\b|\bERROR\b|\bCRITICAL\b|Traceback|Warning:")
# The one warning that says nothing about the server: the client logs it when its
# process starts shutting down while events are still queued for sending, which
# depends only on how busy the machine is (its events are still sent before exit;
# the tests check that they arrived).
SHUTDOWN_DRAIN = re.compile(r"\| WARNING \| EventsWorker - Still processing items: \d+ items")


def trouble(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a run's output that show a warning, an error or a traceback."""
    lines = (result.stdout + "\n" + result.stderr).splitlines()
    return [x for x in lines if TROUBLE.search(x) and not SHUTDOWN_DRAIN.search(x)]


@pytest.fixture(scope="session")
def prefect_python() -> Path:
    """`python` of the cached virtualenv holding prefect==3.9.1 (built on first use)."""
    return venv_python(ensure_prefect_venv())


@dataclass
class PrefectUser:
    """Someone with the Prefect client installed, pointed at a runfolio server."""

    python: Path
    env: dict[str, str]
    cwd: Path
    server: ServerProcess

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
def prefect_user(prefect_python: Path, server: ServerProcess, tmp_path: Path) -> PrefectUser:
    """The Prefect client with PREFECT_API_URL=<runfolio server>/api and its own PREFECT_HOME."""
    work = tmp_path / "work"
    work.mkdir()
    env = prefect_env(server.api_url, tmp_path / "prefect-home")
    return PrefectUser(python=prefect_python, env=env, cwd=work, server=server)


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return f"--- exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def one_line(text: str) -> str:
    """`text` with all whitespace runs made single spaces (rich wraps long lines)."""
    return " ".join(text.split())
