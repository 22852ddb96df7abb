"""The whole ls → inspect → delete path against a real server process on loopback."""

import json
from pathlib import Path

import pytest

from runfolio.client import client_for
from runfolio.schemas.bodies import ArtifactCountBody
from runfolio.settings import Settings
from tests.cli.helpers import add, assert_failed, make_invoke
from tests.servers import ServerProcess


@pytest.mark.server
def test_ls_inspect_delete_against_a_server(server: ServerProcess, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "unused", database_url=None, api_url=server.api_url)
    remote = client_for(settings)
    cli = make_invoke(settings)
    try:
        old = add(remote, "report", data="# v1")
        new = add(remote, "report", data="# v2", description="The nightly report")
        keyless = add(remote, None, type="progress", data=10.0)

        listed = cli("artifact", "ls")
        assert listed.exit_code == 0, listed.output
        assert str(new.id) in listed.stdout and "The nightly report" in listed.stdout
        everything = json.loads(cli("artifact", "ls", "--all", "-o", "json").stdout)
        assert [row["id"] for row in everything] == [str(keyless.id), str(new.id), str(old.id)]

        inspected = cli("artifact", "inspect", "report", "-o", "json")
        assert inspected.exit_code == 0, inspected.output
        assert [v["data"] for v in json.loads(inspected.stdout)] == ["# v2", "# v1"]
        assert_failed(cli("artifact", "inspect", "nope"))

        declined = cli("artifact", "delete", "report", input="n\n")
        assert_failed(declined)
        assert remote.count_artifacts(ArtifactCountBody()) == 3

        deleted = cli("artifact", "delete", "report", input="y\n")
        assert deleted.exit_code == 0, deleted.output
        assert "Deleted 2 artifact(s) with key 'report'." in deleted.stdout
        by_id = cli("artifact", "delete", "--id", str(keyless.id), "--yes")
        assert by_id.exit_code == 0, by_id.output
        assert remote.count_artifacts(ArtifactCountBody()) == 0

        gone = cli("artifact", "delete", "--id", str(keyless.id), "--yes")
        assert_failed(gone)
        assert "not found" in gone.stderr
        assert cli("artifact", "ls").stdout.strip() == "No artifact keys found."
    finally:
        remote.close()
