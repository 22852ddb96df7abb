"""The pages' queries walk indexes: no full scan of a table on the usual paths.

The plans are read with SQLite's EXPLAIN QUERY PLAN for every statement a data
function runs (through an operations context, as the server runs them), without
ANALYZE statistics (so the planner reasons as for big tables). Timings are
measured by hand, never asserted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from runfolio.ops import Context
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.schemas.runs import FlowCreate, FlowRunCreate, StateCreate, StateType, TaskRunCreate
from runfolio.schemas.sorting import ArtifactSort
from runfolio.server.ui import data
from runfolio.store import artifacts as artifact_store
from runfolio.store import runs as run_store
from runfolio.store.engine import dispose_engines, open_engine, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS

TABLES = {"artifacts", "artifact_collections", "flow_runs", "task_runs", "flows", "logs"}
FULL_SCAN = re.compile(r"^SCAN (\w+)(?! USING)")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    yield open_engine(f"sqlite:///{tmp_path / 'views.db'}")
    dispose_engines()


@pytest.fixture
def filled(engine: Engine) -> dict[str, Any]:
    with write(engine) as conn:
        flow, _ = run_store.create_flow(conn, WS, FlowCreate(name="etl"))
        run = run_store.create_flow_run(conn, WS, FlowRunCreate(flow_id=flow.id))
        run_store.set_flow_run_state(conn, WS, run.id, StateCreate(type=StateType.RUNNING))
        task = run_store.create_task_run(conn, WS, TaskRunCreate(flow_run_id=run.id, task_key="t"))
        for i in range(300):
            artifact_store.create(
                conn,
                WS,
                ArtifactCreate(
                    key=f"key-{i % 120:03d}",
                    type="progress" if i % 3 else "markdown",
                    data=float(i % 100) if i % 3 else f"# {i}",
                    flow_run_id=run.id,
                    task_run_id=task.id,
                ),
            )
    return {"run": run.id}


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_scans(engine: Engine, run: Callable[[Context], object]) -> list[str]:
    with statements(engine) as seen:
        run(Context(engine))
    assert seen
    scans = []
    with read(engine) as conn:
        for sql, params in seen:
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params):
                match = FULL_SCAN.match(row[3])
                if match and match.group(1) in TABLES:
                    scans.append(f"{row[3]}  <-  {sql}")
    return scans


@pytest.mark.parametrize(
    "page",
    [
        lambda c: data.artifacts_page(c),
        lambda c: data.artifacts_page(c, page=3),
        lambda c: data.artifacts_page(c, sort=ArtifactSort.KEY_ASC, page=2),
        lambda c: data.artifacts_page(c, sort=ArtifactSort.KEY_DESC),
        lambda c: data.artifacts_page(c, sort=ArtifactSort.CREATED_DESC),
        lambda c: data.artifacts_page(c, type_="link"),
        lambda c: data.artifact_key_page(c, "key-007"),
        lambda c: data.runs_page(c),
    ],
)
def test_pages_use_indexes(engine: Engine, filled: dict[str, Any], page: Any) -> None:
    assert full_scans(engine, page) == []


def test_artifact_run_page_and_live_use_indexes(engine: Engine, filled: dict[str, Any]) -> None:
    run_id = filled["run"]
    now = dt.datetime.now(dt.UTC)
    assert full_scans(engine, lambda c: data.run_page(c, run_id, now=now)) == []
    page = data.run_page(Context(engine), run_id, now=now)
    ids = [a.artifact.id for a in page.artifacts]
    assert full_scans(engine, lambda c: data.artifact_page(c, ids[0])) == []
    live = lambda c: data.live(c, runs=[run_id], graph=run_id, progress=ids)  # noqa: E731
    assert full_scans(engine, live) == []
