"""Helpers of the CLI tests: running `runfolio` in-process, making artifacts, checking errors."""

from __future__ import annotations

from typing import Any, Protocol

from typer.testing import CliRunner, Result

from runfolio.cli import app
from runfolio.client import RunfolioClient
from runfolio.schemas.artifacts import Artifact, ArtifactCreate
from runfolio.settings import Settings


class Invoke(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result: ...


def cli_env(settings: Settings) -> dict[str, str | None]:
    """The environment of one CLI run: only these RUNFOLIO_* settings, a wide plain terminal."""
    return {
        "RUNFOLIO_HOME": str(settings.home),
        "RUNFOLIO_API_URL": settings.api_url,
        "RUNFOLIO_DATABASE_URL": settings.database_url,
        "RUNFOLIO_API_KEY": None,
        "RUNFOLIO_HTTP_RETRIES": "0",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }


def make_invoke(settings: Settings) -> Invoke:
    runner = CliRunner()

    def invoke(
        *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        full_env = {**cli_env(settings), **(env or {})}
        return runner.invoke(app, list(args), input=input, env=full_env, prog_name="runfolio")

    return invoke


def add(client: RunfolioClient, key: str | None = "report", **fields: Any) -> Artifact:
    fields.setdefault("type", "markdown")
    fields.setdefault("data", "# hello")
    return client.create_artifact(ArtifactCreate(key=key, **fields))


def assert_failed(result: Result, code: int = 1) -> None:
    """An expected error: the exit code, a message, and no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
