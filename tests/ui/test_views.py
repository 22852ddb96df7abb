"""The pages' queries walk indexes: no full scan of a table on the usual paths.

The plans are read with SQLite's EXPLAIN QUERY PLAN for every statement a data
function runs, without ANALYZE statistics (so the planner reasons as for big
tables). Timings are measured by hand, never asserted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event

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
def statements(conn: Connection) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", record)


def full_scans(conn: Connection, run: Callable[[Connection], object]) -> list[str]:
    with statements(conn) as seen:
        run(conn)
    assert seen
    scans = []
    for sql, params in seen:
        for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params):
            match = FULL_SCAN.match(row[3])
            if match and match.group(1) in TABLES:
                scans.append(f"{row[3]}  <-  {sql}")
    return scans


@pytest.mark.parametrize(
    "page",
    [
        lambda c: data.artifacts_page(c, WS),
        lambda c: data.artifacts_page(c, WS, page=3),
        lambda c: data.artifacts_page(c, WS, sort=ArtifactSort.KEY_ASC, page=2),
        lambda c: data.artifacts_page(c, WS, sort=ArtifactSort.KEY_DESC),
        lambda c: data.artifacts_page(c, WS, sort=ArtifactSort.CREATED_DESC),
        lambda c: data.artifact_key_page(c, WS, "key-007"),
        lambda c: data.runs_page(c, WS),
    ],
)
def test_pages_use_indexes(engine: Engine, filled: dict[str, Any], page: Any) -> None:
    with read(engine) as conn:
        assert full_scans(conn, page) == []


def test_run_page_and_live_use_indexes(engine: Engine, filled: dict[str, Any]) -> None:
    run_id = filled["run"]
    now = dt.datetime.now(dt.UTC)
    with read(engine) as conn:
        assert full_scans(conn, lambda c: data.run_page(c, WS, run_id, now=now)) == []
        page = data.run_page(conn, WS, run_id, now=now)
        ids = [a.artifact.id for a in page.artifacts]
        live = lambda c: data.live(c, WS, runs=[run_id], graph=run_id, progress=ids)  # noqa: E731
        assert full_scans(conn, live) == []
