"""README code blocks are executed, so the documentation cannot rot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runfolio.client import RunfolioClient, client_for
from runfolio.schemas.bodies import ArtifactFilterBody, FlowRunFilterBody, TaskRunFilterBody
from runfolio.settings import Settings

README = Path(__file__).parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _on_a_cluster(block: str) -> bool:
    # Dask's worker processes import the script they run: that example runs as a file.
    return "DaskTaskRunner" in block


def test_readme_has_python_examples() -> None:
    assert python_blocks()


def test_readme_python_blocks_run(
    client: RunfolioClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples write files (results.csv) where they run
    for block in python_blocks():
        if _on_a_cluster(block):
            continue
        exec(compile(block, str(README), "exec"), {"__name__": "__main__"})
    stored = {a.key: a for a in client.filter_artifacts(ArtifactFilterBody())}
    assert stored["nightly-report"].data == "Loaded **5** rows."
    assert stored["nightly-table"].type == "table"
    progress = [a for a in stored.values() if a.type == "progress"]
    assert len(progress) == 1 and progress[0].data == 100.0
    (run,) = [
        r
        for r in client.filter_flow_runs(FlowRunFilterBody())
        if r.name and r.flow_id and client.read_flow(r.flow_id).name == "nightly"
    ]
    assert run.state_type == "COMPLETED"
    assert [log.message for log in client.read_logs(run.id)] == ["done"]
    # The living-artifact examples: changed in place, uploaded, drawn.
    assert len(json.loads(stored["train-loss"].data)) == 4
    assert stored["train-status"].data.startswith("# Training\nepoch 3 of 3")
    assert stored["results"].type == "file" and stored["results"].data["filename"] == "results.csv"
    assert stored["plot"].type == "image" and stored["plot"].data.startswith("/api/blobs/")
    assert [p["epoch"] for p in stored["training-loss"].data["data"]["values"]] == [0, 1, 2, 3, 4]
    assert stored["training-report"].type == "html"


def test_readme_cluster_example_runs(tmp_path: Path) -> None:
    (block,) = [b for b in python_blocks() if _on_a_cluster(b)]
    script = tmp_path / "scoring.py"
    script.write_text(block)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNFOLIO_")}
    env["RUNFOLIO_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "570"  # 3 × (0 + 1 + ... + 19)
    client = client_for(Settings(home=tmp_path / "home", api_url=None, api_key=None))
    try:
        stored = client.filter_artifacts(ArtifactFilterBody())
        progress = [a for a in stored if a.type == "progress"]
        assert len(progress) == 20 and {a.data for a in progress} == {100.0}
        assert len([a for a in stored if a.type == "table"]) == 20
        tasks = client.filter_task_runs(TaskRunFilterBody())
        assert len(tasks) == 21 and all(t.state_type == "COMPLETED" for t in tasks)
    finally:
        client.close()
