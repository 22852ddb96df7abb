"""The documentation's examples run unchanged (but for the import) and store what they say."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from runfolio.client import RunfolioClient
from runfolio.schemas.artifacts import Artifact as StoredArtifact
from runfolio.schemas.bodies import ArtifactFilterBody, TaskRunFilterBody
from runfolio.schemas.filters import ArtifactFilter, KeyFilter
from runfolio.schemas.sorting import ArtifactSort
from runfolio.store.engine import connect
from tests.workspaces import create_workspaces
from tests.servers import running_server

EXAMPLES = Path(__file__).parents[2] / "examples"


def run_example(name: str) -> dict[str, object]:
    return runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def versions(client: RunfolioClient, key: str) -> list[StoredArtifact]:
    body = ArtifactFilterBody(
        artifacts=ArtifactFilter(key=KeyFilter(any_=[key])), sort=ArtifactSort.CREATED_DESC
    )
    return client.filter_artifacts(body)


def test_every_example_imports_runfolio_not_prefect() -> None:
    for path in EXAMPLES.glob("*.py"):
        assert "prefect import" not in path.read_text().replace("from runfolio", "")


def test_link_examples(client: RunfolioClient) -> None:
    run_example("link_artifacts.py")
    newest, oldest = versions(client, "irregular-data")
    assert newest.data == (
        "[https://nyc3.digitaloceanspaces.com/my-bucket-name/low_pred_data.csv]"
        "(https://nyc3.digitaloceanspaces.com/my-bucket-name/low_pred_data.csv)"
    )
    assert (newest.type, newest.description) == ("markdown", "# Low prediction accuracy")
    assert oldest.description == "## Highly variable data"
    assert newest.flow_run_id == oldest.flow_run_id is not None
    assert newest.task_run_id != oldest.task_run_id
    assert client.read_task_run(newest.task_run_id).name == "my_second_task-0"  # type: ignore[arg-type]
    assert client.read_latest_artifact("irregular-data").id == newest.id

    run_example("link_text_artifact.py")
    (link,) = versions(client, "my-important-link")
    assert link.data == "[Prefect](https://www.prefect.io/)"
    assert link.flow_run_id is not None and link.task_run_id is None


def test_progress_example_updates_one_row(
    client: RunfolioClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "sleep", lambda _s: None)  # the example sleeps 2 s per batch
    run_example("progress_artifact.py")
    (progress,) = client.filter_artifacts(ArtifactFilterBody())
    assert (progress.type, progress.data, progress.key) == ("progress", 100.0, None)
    assert progress.description == "Indicates the progress of fetching data in batches."
    assert progress.task_run_id is not None
    assert progress.updated > progress.created


def test_markdown_example(client: RunfolioClient) -> None:
    run_example("markdown_artifact.py")
    (report,) = versions(client, "gtm-report")
    assert report.type == "markdown" and report.description == "Quarterly Sales Report"
    assert report.data.startswith("# Sales Report")
    assert "| North America | $500,000 |" in report.data
    assert report.task_run_id is not None


def test_table_example_outside_a_flow(client: RunfolioClient) -> None:
    run_example("table_artifact.py")
    (table,) = versions(client, "personalized-reachout")
    assert table.type == "table"
    assert json.loads(table.data) == [
        {"customer_id": "12345", "name": "John Smith", "churn_probability": 0.85},
        {"customer_id": "56789", "name": "Jane Jones", "churn_probability": 0.65},
    ]
    assert table.data.startswith('[{"customer_id": "12345", "name": "John Smith"')
    assert table.flow_run_id is None and table.task_run_id is None


def test_image_example_returns_the_url(
    client: RunfolioClient, capsys: pytest.CaptureFixture[str]
) -> None:
    run_example("image_artifact.py")
    (image,) = versions(client, "gif")
    assert image.type == "image" and image.description == "A gif."
    assert image.data.startswith("https://media3.giphy.com/")
    assert f"Image URL: {image.data}" in capsys.readouterr().out
    tasks = client.filter_task_runs(TaskRunFilterBody())
    assert [t.name for t in tasks] == ["create_image-0"]


def test_get_example_finds_nothing_for_an_unknown_key(client: RunfolioClient) -> None:
    namespace = run_example("get_artifact.py")
    assert namespace["my_retrieved_artifact"] is None


def test_rest_example_against_a_real_server(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'home' / 'runfolio.db'}")
    create_workspaces(engine, "abc/xyz")
    engine.dispose()
    with running_server(tmp_path / "home") as server:
        workspace = f"{server.api_url}/accounts/abc/workspaces/xyz"
        for i in range(7):
            body = {"key": f"doc-{i}", "type": "markdown", "data": f"# {i}"}
            assert httpx.post(f"{workspace}/artifacts/", json=body).status_code == 201
        assert httpx.post(f"{workspace}/artifacts/", json={"data": "keyless"}).status_code == 201
        script = (EXAMPLES / "rest_api.py").read_text()
        script = script.replace("http://127.0.0.1:4200/api", server.api_url)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
        )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 5
    assert [eval(line)["key"] for line in lines] == ["doc-6", "doc-5", "doc-4", "doc-3", "doc-2"]
