"""`prefect artifact ls | inspect | delete` (the 3.9.1 CLI, non-interactive) against runfolio."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.compat.conftest import PrefectUser, one_line, output_of

pytestmark = pytest.mark.compat


def _create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/artifacts/", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _keys_stored(api: httpx.Client) -> list[str | None]:
    response = api.post("/artifacts/filter", json={"sort": "CREATED_DESC"})
    return [a["key"] for a in response.json()]


def test_artifact_commands(prefect_user: PrefectUser, runfolio_api: httpx.Client) -> None:
    api = runfolio_api
    # Deletes need the admin role in the workspace: the admin's key, as user:key.
    prefect_user.as_user("admin")
    run_id = str(uuid.uuid4())
    md_v1 = _create(api, key="cli-md", type="markdown", data="# v1", flow_run_id=run_id)
    md_v2 = _create(api, key="cli-md", type="markdown", data="# v2", description="second")
    table = _create(api, key="cli-table", type="table", data='[{"a": 1}]')
    progress = _create(api, key="cli-progress", type="progress", data=42.5)
    _create(api, type="markdown", data="keyless")

    # ls: the latest version of each key, as a table.
    ls = prefect_user.cli("artifact", "ls")
    assert ls.returncode == 0, output_of(ls)
    text = one_line(ls.stdout)
    assert "Artifacts" in text
    for artifact in (md_v2, table, progress):
        assert artifact["id"] in text
        assert artifact["key"] in text
    assert md_v1["id"] not in text

    # ls -o json: the collection rows, `latest_id` included.
    ls_json = prefect_user.cli("artifact", "ls", "-o", "json")
    assert ls_json.returncode == 0, output_of(ls_json)
    rows = json.loads(ls_json.stdout)
    assert [r["key"] for r in rows] == ["cli-md", "cli-progress", "cli-table"]
    md_row = rows[0]
    assert md_row["latest_id"] == md_v2["id"]
    assert (md_row["data"], md_row["description"]) == ("# v2", "second")
    assert rows[1]["data"] == 42.5

    # inspect: every version of the key, newest first.
    inspect = prefect_user.cli("artifact", "inspect", "cli-md")
    assert inspect.returncode == 0, output_of(inspect)
    out = inspect.stdout
    assert out.index(md_v2["id"]) < out.index(md_v1["id"])
    assert "'key': 'cli-md'" in out and "'data': '# v1'" in out

    inspect_json = prefect_user.cli("artifact", "inspect", "cli-md", "-o", "json")
    assert inspect_json.returncode == 0, output_of(inspect_json)
    versions = json.loads(inspect_json.stdout)
    assert [v["id"] for v in versions] == [md_v2["id"], md_v1["id"]]
    assert versions[1]["flow_run_id"] == run_id

    missing = prefect_user.cli("artifact", "inspect", "no-such-key")
    assert missing.returncode == 1, output_of(missing)
    assert "Artifact 'no-such-key' not found." in one_line(missing.stdout)

    # delete KEY: every version of the key, without a prompt.
    deleted = prefect_user.cli("artifact", "delete", "cli-md")
    assert deleted.returncode == 0, output_of(deleted)
    assert "Deleted 2 artifact(s) with key 'cli-md'." in one_line(deleted.stdout)
    assert "cli-md" not in _keys_stored(api)

    again = prefect_user.cli("artifact", "delete", "cli-md")
    assert again.returncode == 1, output_of(again)
    assert "Artifact with key 'cli-md' not found." in one_line(again.stdout)

    # delete --id ID: one version.
    by_id = prefect_user.cli("artifact", "delete", "--id", table["id"])
    assert by_id.returncode == 0, output_of(by_id)
    assert f"Deleted artifact with id '{table['id']}'." in one_line(by_id.stdout)
    assert api.get(f"/artifacts/{table['id']}").status_code == 404
    assert api.get("/artifacts/cli-table/latest").status_code == 404

    gone = prefect_user.cli("artifact", "delete", "--id", table["id"])
    assert gone.returncode == 1, output_of(gone)
    assert f"Artifact with id '{table['id']}' not found!" in one_line(gone.stdout)

    assert sorted(_keys_stored(api), key=str) == [None, "cli-progress"]
