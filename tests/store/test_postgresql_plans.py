"""On PostgreSQL the hot queries walk indexes: no sequential scan of the artifact and
flow-run tables on the API's and the pages' usual paths.

The database holds enough rows for the planner to choose (written straight into the
tables, then ANALYZE); each case runs an operation as the server runs it, records the
SELECTs the store sends (the statements the store builds, compiled by the dialect, with
their parameters) and reads each one's plan with EXPLAIN (FORMAT JSON).
(tests/ui/test_views.py checks SQLite's plans.)
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from runfolio import ops
from runfolio.ops import Context
from runfolio.schemas.bodies import ArtifactFilterBody, CollectionFilterBody, FlowRunFilterBody
from runfolio.server.ui import data
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID as WS
from runfolio.store.tables import artifact_collections, artifacts, flow_runs, flows
from tests.pg import PostgresServer

ARTIFACTS = 20_000
KEYS = 2_000  # 10 versions a key: the keys' own table is big enough to need its indexes
RUNS = 5_000
COMMON_STATES = ("COMPLETED", "RUNNING", "PENDING", "CANCELLED")
WATCHED = {"artifacts", "artifact_collections", "flow_runs"}
SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _uuid(n: int, kind: int) -> uuid.UUID:
    """Time-ordered ids, as the store makes them (the newest sorts last)."""
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
    flow_id = _uuid(0, 1)
    with write(engine) as conn:
        common = {"workspace_id": WS, "created": START, "updated": START}
        conn.execute(flows.insert(), {"id": flow_id, "name": "etl", "tags": [], **common})
        runs = []
        for n in range(RUNS):
            at = START + dt.timedelta(minutes=n)
            # Failures are rare (2 %), as in real use: the query by state must find them
            # through an index (a common state is as cheaply read by scanning).
            state = "FAILED" if n % 50 == 0 else COMMON_STATES[n % len(COMMON_STATES)]
            runs.append(
                {
                    **common,
                    "id": _uuid(n, 2),
                    "flow_id": flow_id,
                    "name": f"run-{n}",
                    "parameters": {},
                    "tags": [],
                    "state_type": state,
                    "state_name": state.title(),
                    "state_timestamp": at,
                    "start_time": None if state == "PENDING" else at,
                    "expected_start_time": at,
                    "run_count": 1,
                    "total_run_time": 1.0,
                    "created": at,
                    "updated": at,
                }
            )
        conn.execute(flow_runs.insert(), runs)
        versions = []
        latest: dict[str, dict[str, Any]] = {}
        for n in range(ARTIFACTS):
            at = START + dt.timedelta(seconds=n)
            version: dict[str, Any] = {
                "id": _uuid(n, 3),
                "workspace_id": WS,
                "key": f"key-{n % KEYS:05d}",
                "type": ("markdown", "table", "progress", "link")[n % 4],
                "description": f"version {n}",
                "data": f"# {n}",
                "metadata_": None,
                "flow_run_id": _uuid(n % RUNS, 2),
                "task_run_id": None,
                "created": at,
                "updated": at,
            }
            versions.append(version)
            latest[version["key"]] = version
        conn.execute(artifacts.insert(), versions)
        conn.execute(
            artifact_collections.insert(),
            [
                {
                    **version,
                    "id": _uuid(n, 4),
                    "latest_id": version["id"],
                    "latest_created": version["created"],
                }
                for n, version in enumerate(latest.values())
            ],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plans(engine: Engine, run: Callable[[Context], object]) -> list[tuple[str, dict[str, Any]]]:
    """Each SELECT `run` sends, with its plan's root node."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run(Context(engine))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen
    plans = []
    with read(engine) as conn:
        for sql, params in seen:
            explained = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar_one()
            # runfolio's connections hand json over as text (JSONText parses it).
            plans.append((sql, json.loads(explained)[0]["Plan"]))
    return plans


def _table_scans(plans: list[tuple[str, dict[str, Any]]]) -> dict[str, set[str]]:
    """How each watched table is read: the plan node types that read it.

    A count of every row of the workspace (a page's total) reads them all whatever the
    plan; its sequential scan is left out. A count with any other condition is not.
    """
    found: dict[str, set[str]] = {}
    for sql, plan in plans:
        whole_count = sql.lstrip().startswith("SELECT count(*)")
        for node in _nodes(plan):
            table = node.get("Relation Name")
            if table is None and "Index Name" in node:  # a bitmap index scan names no table
                table = _table_of(node["Index Name"])
            if table not in WATCHED:
                continue
            if whole_count and node["Node Type"] == "Seq Scan" and _workspace_only(node):
                continue
            found.setdefault(table, set()).add(node["Node Type"])
    return found


def _workspace_only(node: dict[str, Any]) -> bool:
    return node.get("Filter") == f"(workspace_id = '{WS}'::uuid)"


def _table_of(index: str) -> str | None:
    for table in (artifacts, artifact_collections, flow_runs):
        if any(i.name == index for i in table.indexes) or index.startswith(f"pk_{table.name}"):
            return table.name
        if any(c.name == index for c in table.constraints):
            return table.name
    return None


def _key_filter(*keys: str) -> dict[str, Any]:
    return {"key": {"any_": list(keys)}}


CASES: dict[str, Callable[[Context], object]] = {
    # POST /artifacts/latest/filter: the keys' latest versions, filtered and sorted.
    "latest by key": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"artifacts": _key_filter("key-00042")})
    ),
    "latest updated desc": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"sort": "UPDATED_DESC", "limit": 50})
    ),
    "latest key asc": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"sort": "KEY_ASC", "limit": 50, "offset": 100})
    ),
    "latest key desc": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"sort": "KEY_DESC", "limit": 50})
    ),
    "latest created desc": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"sort": "CREATED_DESC", "limit": 50})
    ),
    "latest of a type, updated desc": lambda c: ops.filter_latest_artifacts(
        c,
        CollectionFilterBody.model_validate(
            {"artifacts": {"type": {"any_": ["table"]}}, "sort": "UPDATED_DESC", "limit": 50}
        ),
    ),
    # The key search (like_, a substring match): the keys' trigram index.
    "latest key like_": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"artifacts": {"key": {"like_": "y-0004"}}})
    ),
    # Letters beyond ASCII are folded as PostgreSQL's lower() does: still ILIKE there.
    "latest key like_ non-ASCII": lambda c: ops.filter_latest_artifacts(
        c, CollectionFilterBody.model_validate({"artifacts": {"key": {"like_": "KÉY-0004"}}})
    ),
    # GET /artifacts/{key}/latest
    "latest of a key": lambda c: ops.read_latest_artifact(c, "key-00042"),
    # POST /artifacts/filter: one key's versions, newest first (Artifact.get, the key page).
    "a key's versions by created": lambda c: ops.filter_artifacts(
        c,
        ArtifactFilterBody.model_validate(
            {"artifacts": _key_filter("key-00042"), "sort": "CREATED_DESC", "limit": 10}
        ),
    ),
    "a key's newest by updated": lambda c: ops.filter_artifacts(
        c,
        ArtifactFilterBody.model_validate(
            {"artifacts": _key_filter("key-00042"), "sort": "UPDATED_DESC", "limit": 1}
        ),
    ),
    "versions key like_": lambda c: ops.filter_artifacts(
        c,
        ArtifactFilterBody.model_validate(
            # One key's 10 versions: walking the created index would read them all.
            {"artifacts": {"key": {"like_": "y-00042"}}, "sort": "CREATED_DESC", "limit": 10}
        ),
    ),
    "versions by created": lambda c: ops.filter_artifacts(
        c, ArtifactFilterBody.model_validate({"sort": "CREATED_DESC", "limit": 50})
    ),
    # The runs page, all and by state (newest first: ids are time-ordered).
    "runs page": lambda c: data.runs_page(c),
    "runs page by state": lambda c: data.runs_page(c, state="FAILED", page=2),
    # POST /flow_runs/filter by state, newest first.
    "flow runs by state": lambda c: ops.filter_flow_runs(
        c,
        FlowRunFilterBody.model_validate(
            {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}, "limit": 50}
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hot_queries_use_indexes(engine: Engine, case: str) -> None:
    plans = _plans(engine, CASES[case])
    scans = _table_scans(plans)
    assert scans, "the queries read none of the watched tables"
    sequential = {table: kinds for table, kinds in scans.items() if "Seq Scan" in kinds}
    assert not sequential, "\n".join(f"{sql}\n{plan}" for sql, plan in plans)
    for table, kinds in scans.items():
        assert kinds & SCANS, (table, kinds)


KEY_SEARCHES = {
    "latest key like_": "ix_artifact_collections__key_trgm",
    "latest key like_ non-ASCII": "ix_artifact_collections__key_trgm",
    "versions key like_": "ix_artifacts__key_trgm",
}


@pytest.mark.parametrize("case", list(KEY_SEARCHES))
def test_key_searches_use_the_trigram_index(engine: Engine, case: str) -> None:
    # Any index would pass the test above: walking the created index and filtering
    # every row by its key is as slow as a scan when few keys match.
    plans = _plans(engine, CASES[case])
    used = {node.get("Index Name") for _sql, plan in plans for node in _nodes(plan)}
    assert KEY_SEARCHES[case] in used, "\n".join(f"{sql}\n{plan}" for sql, plan in plans)
