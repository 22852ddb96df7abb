"""Expected errors print one message and exit non-zero, never a traceback."""

from pathlib import Path

import pytest

from tests.cli.helpers import Invoke, assert_failed
from tests.pg import sqlite_only
from tests.servers import free_port

COMMANDS = [
    ("artifact", "ls"),
    ("artifact", "inspect", "report"),
    ("artifact", "delete", "report", "--yes"),
    ("flow-run", "ls"),
    ("flow-run", "inspect", "00000000-0000-0000-0000-000000000007"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_server_that_does_not_answer(cli: Invoke, args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    result = cli(*args, env={"RUNFOLIO_API_URL": url})
    assert_failed(result)
    assert f"Cannot reach the runfolio server at {url}" in result.stderr
    assert "runfolio server start" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RUNFOLIO_API_URL": "ftp://example.com"}, "RUNFOLIO_API_URL"),
        ({"RUNFOLIO_HTTP_TIMEOUT": "soon"}, "RUNFOLIO_HTTP_TIMEOUT"),
    ],
)
def test_bad_setting(cli: Invoke, env: dict[str, str | None], message: str) -> None:
    result = cli("artifact", "ls", env=env)
    assert_failed(result)
    assert "Invalid setting" in result.stderr and message in result.stderr


# The embedded SQLite file lives under the home; a PostgreSQL URL never looks at it.
@sqlite_only
def test_home_that_is_a_file(cli: Invoke, tmp_path: Path) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("")
    result = cli("artifact", "ls", env={"RUNFOLIO_HOME": str(home)})
    assert_failed(result)
    assert "Cannot open the database" in result.stderr
