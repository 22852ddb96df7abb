"""The documentation's REST example (`requests`, Bearer header, POST /artifacts/filter),
run unchanged but for its URL and key, on artifacts the Prefect client recorded in a
named workspace (`/api/accounts/abc/workspaces/xyz`, the URL shape the example uses,
created by an admin before the server started; ci-bot's key there is the example's)."""

from __future__ import annotations

import ast
import json

import httpx
import pytest

from tests.compat.conftest import PrefectUser, output_of, trouble

pytestmark = pytest.mark.compat

SEED = """
import json
from prefect import flow
from prefect.artifacts import (
    create_image_artifact, create_link_artifact, create_markdown_artifact,
    create_progress_artifact, create_table_artifact,
)

@flow(name="rest-example-seed")
def seed():
    made = [
        ("md-1", create_markdown_artifact("# one", key="md-1")),
        ("table-1", create_table_artifact([{"a": 1}], key="table-1")),
        (None, create_markdown_artifact("no key")),
        ("link-1", create_link_artifact("https://example.com", key="link-1")),
        ("md-2", create_markdown_artifact("# two", key="md-2")),
        (None, create_table_artifact([[1, 2]])),
        ("table-2", create_table_artifact({"b": [1, 2]}, key="table-2")),
        ("md-1", create_markdown_artifact("# one, v2", key="md-1")),
        (None, create_markdown_artifact("no key either")),
    ]
    return [(key, str(artifact_id)) for key, artifact_id in made]

if __name__ == "__main__":
    print("SEEDED " + json.dumps(seed()))
"""

# The example from the documentation; only the two constants' values differ.
EXAMPLE = """
import requests
PREFECT_API_URL={url!r}
PREFECT_API_KEY={key!r}
data = {{
"sort": "CREATED_DESC",
"limit": 5,
"artifacts": {{
"key": {{
"exists_": True
}}
}}
}}
headers = {{"Authorization": f"Bearer {{PREFECT_API_KEY}}"}}
endpoint = f"{{PREFECT_API_URL}}/artifacts/filter"
response = requests.post(endpoint, headers=headers, json=data)
assert response.status_code == 200
for artifact in response.json():
    print(artifact)
"""


def test_documented_rest_example(prefect_user: PrefectUser, runfolio_api: httpx.Client) -> None:
    workspace_url = f"{prefect_user.server.api_url}/accounts/abc/workspaces/xyz"
    prefect_user.env["PREFECT_API_URL"] = workspace_url
    prefect_user.as_user("ci-bot", "abc/xyz")
    seeded = prefect_user.script("seed.py", SEED)
    assert seeded.returncode == 0, output_of(seeded)
    assert not trouble(seeded), output_of(seeded)
    line = next(x for x in seeded.stdout.splitlines() if x.startswith("SEEDED "))
    made = json.loads(line.removeprefix("SEEDED "))
    newest_keyed = [artifact_id for key, artifact_id in reversed(made) if key is not None][:5]

    key = prefect_user.server.keys[("ci-bot", "abc/xyz")]
    example = prefect_user.script("example.py", EXAMPLE.format(url=workspace_url, key=key))
    assert example.returncode == 0, output_of(example)
    printed = [ast.literal_eval(x) for x in example.stdout.splitlines() if x.strip()]
    assert [a["id"] for a in printed] == newest_keyed
    assert all(a["key"] is not None for a in printed)
    assert [a["created"] for a in printed] == sorted((a["created"] for a in printed), reverse=True)
    assert list(printed[0]) == [
        "id",
        "created",
        "updated",
        "key",
        "type",
        "description",
        "data",
        "metadata_",
        "flow_run_id",
        "task_run_id",
    ]
    assert all(a["flow_run_id"] for a in printed)

    # Nothing crossed into the default workspace.
    default = runfolio_api.post("/artifacts/count", json={})
    assert (default.status_code, default.json()) == (200, 0)
