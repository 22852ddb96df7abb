"""README code blocks are executed, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

from runfolio.client import RunfolioClient
from runfolio.schemas.bodies import ArtifactFilterBody, FlowRunFilterBody

README = Path(__file__).parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert python_blocks()


def test_readme_python_blocks_run(client: RunfolioClient) -> None:
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), {"__name__": "__main__"})
    stored = {a.key: a for a in client.filter_artifacts(ArtifactFilterBody())}
    assert stored["nightly-report"].data == "Loaded **5** rows."
    assert stored["nightly-table"].type == "table"
    progress = [a for a in stored.values() if a.type == "progress"]
    assert len(progress) == 1 and progress[0].data == 100.0
    (run,) = client.filter_flow_runs(FlowRunFilterBody())
    assert run.state_type == "COMPLETED"
    assert [log.message for log in client.read_logs(run.id)] == ["done"]
