"""The run page's task-run table over real HTTP: paged, failed and crashed first."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx

from tests.servers import ServerProcess
from tests.ui.seed import Seed, iso, unique

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
# Their states; the others complete. The table lists these first, in start order.
BROKEN = {7: "FAILED", 64: "CRASHED", 120: "FAILED"}


def _record(run_id: str, i: int) -> dict[str, Any]:
    task_id = str(uuid.uuid4())
    start, end = T0 + dt.timedelta(seconds=i), T0 + dt.timedelta(seconds=i + 1)
    states = [
        {"type": "RUNNING", "timestamp": iso(start)},
        {"type": BROKEN.get(i, "COMPLETED"), "timestamp": iso(end)},
    ]
    action = {"id": task_id, "flow_run_id": run_id, "task_key": "t", "dynamic_key": str(i)}
    return {"task_run": {**action, "name": f"t{i:03d}", "state": states[0]}, "states": states}


def _task_names(html: str) -> list[str]:
    table = html.partition('id="panel-tasks"')[2].partition('id="panel-parameters"')[0]
    return re.findall(r"<tr><td>(t\d{3})<div", table)


def test_task_runs_are_paged_with_failed_and_crashed_first(
    ui_server: ServerProcess, seed: Seed
) -> None:
    run = seed.flow_run("paged-tasks", name=unique("paged"))
    batch = [_record(run["id"], i) for i in range(130)]
    stored = seed.http.post("/task_runs/batch", json=batch)
    assert stored.status_code == 201, stored.text
    page_url = f"/runs/{run['id']}"

    with httpx.Client(base_url=ui_server.url) as http:
        first = http.get(page_url)
        second = http.get(f"{page_url}?tpage=2")
        twin = http.get(f"/api/ui{page_url}?tpage=2").json()
    assert first.status_code == second.status_code == 200

    ok = [f"t{i:03d}" for i in range(130) if i not in BROKEN]
    assert _task_names(first.text) == ["t007", "t064", "t120", *ok[:97]]
    assert _task_names(second.text) == ok[97:]
    # The tab counts every task run, not the page; the pager links keep the tab open.
    assert 'Task runs <span class="count">130</span>' in first.text
    assert f'href="{page_url}?tpage=2#tasks">Next' in first.text
    assert f'href="{page_url}#tasks">‹ Previous' in second.text
    assert "101–130 of 130" in second.text

    assert twin["task_runs_paging"] == {"page": 2, "per_page": 100, "total": 130, "pages": 2}
    assert [t["name"] for t in twin["task_runs"]] == ok[97:]
    assert len(twin["graph"]["bars"]) == 130  # the graph still draws every task run
