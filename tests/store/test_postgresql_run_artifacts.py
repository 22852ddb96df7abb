"""On PostgreSQL a flow run's artifacts (its page) are found through the flow run's
index, not by walking every artifact of the workspace in creation order.

The run is the newest, so its artifacts come after every other one in that order: a
plan that walks it and filters reads every older artifact first.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from runfolio.store import views
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS
from runfolio.store.tables import artifacts, flow_runs, flows
from tests.pg import PostgresServer

OLDER = 20_000  # artifacts of other runs, all made before the run's
IN_RUN = 1_000
TEXT = "Results of the step, with notes. " * 40  # a markdown artifact of ~1.3 KB
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _uuid(n: int, kind: int) -> uuid.UUID:
    return uuid.UUID(int=(n << 64) | (kind << 56) | 0x7000_8000_0000_0000)


@pytest.fixture(scope="module")
def engine(postgres: PostgresServer) -> Iterator[Engine]:
    with postgres.database() as url:
        engine = connect(url)
        try:
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


def _fill(engine: Engine) -> None:
    common = {"workspace_id": WS, "created": START, "updated": START}
    runs = [_uuid(n, 2) for n in range(11)]  # the last one is the run looked at
    with write(engine) as conn:
        conn.execute(flows.insert(), {"id": _uuid(0, 1), "name": "etl", "tags": [], **common})
        conn.execute(
            flow_runs.insert(),
            [
                {**common, "id": r, "flow_id": _uuid(0, 1), "name": f"run-{n}",
                 "parameters": {}, "tags": []}
                for n, r in enumerate(runs)
            ],
        )  # fmt: skip
        conn.execute(
            artifacts.insert(),
            [
                {
                    "id": _uuid(n, 3), "workspace_id": WS, "key": None, "type": "markdown",
                    "data": f"# {n}\n{TEXT}", "created": START + dt.timedelta(seconds=n),
                    "updated": START + dt.timedelta(seconds=n),
                    "flow_run_id": runs[-1] if n >= OLDER else runs[n % 10],
                }
                for n in range(OLDER + IN_RUN)
            ],
        )  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows every node of an analysed plan read, those its filters dropped included."""
    own = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
    return int(own) + sum(_rows_read(child) for child in plan.get("Plans", []))


def test_a_runs_artifacts_are_read_through_its_index(engine: Engine) -> None:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "FROM artifacts" in sql and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with read(engine) as conn:
            page = views.run_artifacts(conn, WS, _uuid(10, 2), limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [v.artifact.id for v in page] == [_uuid(n, 3) for n in range(OLDER, OLDER + 50)]
    sql, params = seen[0]
    with read(engine) as conn:
        explained = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params
        ).scalar_one()
    # (psycopg decodes json; runfolio's own connections may hand it over as text)
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    # The run's own rows (and the page's), not the older runs' as well.
    assert _rows_read(plan) < OLDER / 4, json.dumps(plan, indent=1)
