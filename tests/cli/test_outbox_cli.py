"""`runfolio outbox status | flush | drop`, on outbox files made by a real offline client."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runfolio.cli.outbox import key_for
from runfolio.client import client_for
from runfolio.client.outbox import Outbox, default_path
from runfolio.schemas.artifacts import ArtifactCreate, ArtifactUpdate
from runfolio.schemas.common import new_id
from runfolio.settings import Settings
from tests.cli.helpers import Invoke, assert_failed
from tests.servers import ServerProcess, free_port


@pytest.fixture
def database_url() -> None:
    """The outbox has nothing to do with the store's database: SQLite only."""
    return None


def _down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/api"


def _queue(settings: Settings, url: str, n: int) -> None:
    """`n` artifacts (and an update of each) queued for `url`, where nothing answers."""
    client = client_for(settings.model_copy(update={"api_url": url}))
    for i in range(n):
        made = client.create_artifact(
            ArtifactCreate(id=new_id(), key=f"k-{i}", type="progress", data=0.0)
        )
        client.update_artifact(made.id, ArtifactUpdate(data=50.0))
    client.close()


def test_status_of_an_empty_outbox(cli: Invoke, settings: Settings) -> None:
    result = cli("outbox", "status")
    assert result.exit_code == 0, result.output
    assert "The outbox is empty" in result.output
    data = json.loads(cli("outbox", "status", "-o", "json").stdout)
    assert data["targets"] == [] and data["file"] == str(default_path(settings.home))
    assert "Nothing is queued" in cli("outbox", "flush").output


def test_status_per_server_and_drop(cli: Invoke, settings: Settings) -> None:
    first, second = _down_url(), _down_url()
    _queue(settings, first, 3)
    _queue(settings, second, 1)
    table = cli("outbox", "status")
    assert table.exit_code == 0, table.output
    assert first in table.stdout and second in table.stdout and "just now" in table.stdout
    data = json.loads(cli("outbox", "status", "-o", "json").stdout)
    counts = {row["target"]: row["records"] for row in data["targets"]}
    assert counts == {first: 6, second: 2}
    assert all(0 <= row["oldest_age_seconds"] < 60 and row["bytes"] > 0 for row in data["targets"])
    # Asked first: anything but yes keeps every record.
    refused = cli("outbox", "drop", input="n\n")
    assert_failed(refused)
    assert "Nothing was dropped" in refused.output
    assert Outbox(default_path(settings.home), 1 << 30).count(first) == 6
    one = cli("outbox", "drop", "--target", second, "--yes")
    assert one.exit_code == 0 and "Dropped 2 record(s)" in one.output
    left = json.loads(cli("outbox", "status", "-o", "json").stdout)["targets"]
    assert [row["target"] for row in left] == [first]
    assert "Dropped 6 record(s)" in cli("outbox", "drop", "--yes").output
    assert json.loads(cli("outbox", "status", "-o", "json").stdout)["targets"] == []


def test_flush_to_a_server_that_does_not_answer_keeps_everything(
    cli: Invoke, settings: Settings
) -> None:
    url = _down_url()
    _queue(settings, url, 2)
    result = cli("outbox", "flush", "--timeout", "1")
    assert_failed(result)
    assert "4 still queued" in result.output and "ConnectError" in result.output
    assert Outbox(default_path(settings.home), 1 << 30).count(url) == 4


def test_flush_delivers_and_keeps_refused_records_aside(
    cli: Invoke, settings: Settings, server: ServerProcess
) -> None:
    box = Outbox(default_path(settings.home), 1 << 30)
    made = new_id()
    body = {"id": str(made), "key": "ok", "type": "markdown", "data": "x"}
    box.append(server.api_url, "POST", "artifacts/", json.dumps(body).encode())
    # An update of an artifact the server does not have: a 404, never deliverable.
    box.append(server.api_url, "PATCH", f"artifacts/{new_id()}", b'{"data": 1}')
    result = cli("outbox", "flush")
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output and "refused 1" in result.output
    [row] = json.loads(cli("outbox", "status", "-o", "json").stdout)["targets"]
    assert row["records"] == 0 and row["rejected"] == 1
    reader = client_for(settings.model_copy(update={"api_url": server.api_url}))
    assert reader.read_artifact(made).key == "ok"
    reader.close()


@pytest.mark.parametrize("command", [("status",), ("flush",), ("drop", "--yes")])
def test_a_corrupt_outbox_is_an_error_and_is_kept(
    cli: Invoke, settings: Settings, command: tuple[str, ...]
) -> None:
    path = default_path(settings.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(4096))
    before = path.read_bytes()
    result = cli("outbox", *command)
    assert_failed(result)
    assert str(path) in result.output and "not a usable runfolio outbox" in result.output
    assert path.read_bytes() == before


def test_sdk_commands_name_a_corrupt_outbox(cli: Invoke, settings: Settings) -> None:
    path = default_path(settings.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not sqlite at all" * 100)
    result = cli("artifact", "ls", env={"RUNFOLIO_API_URL": _down_url()})
    assert_failed(result)
    assert str(path) in result.output


def test_the_api_key_goes_only_to_its_own_server(tmp_path: Path) -> None:
    own = "http://127.0.0.1:4200/api"
    settings = Settings(home=tmp_path, api_url=own, api_key="rfk_secret")
    assert key_for(own, settings) == "rfk_secret"
    assert key_for("http://127.0.0.1:4200/api/accounts/a/workspaces/b", settings) == "rfk_secret"
    assert key_for("http://elsewhere.example/api", settings) is None
    assert key_for("https://127.0.0.1:4200/api", settings) is None
    unset = Settings(home=tmp_path, api_url=None, api_key="rfk_secret")
    assert key_for("http://elsewhere.example/api", unset) == "rfk_secret"
