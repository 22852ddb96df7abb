"""Filters, sorts and paging turned into SQL: the one place this happens.

Every function returns SQLAlchemy clauses; callers add them to their
statements. `like_` is a case-insensitive substring match of the literal text
(`%` and `_` in it are not wildcards), with PostgreSQL's case folding on both databases.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    and_,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.functions import FunctionElement

from runfolio.errors import Invalid, LimitTooLarge
from runfolio.schemas import filters as f
from runfolio.schemas.bodies import RelatedFilters
from runfolio.schemas.sorting import ArtifactSort, FlowRunSort, TaskRunSort
from runfolio.store.tables import flow_runs, flows, task_runs
from runfolio.store.textfold import SQL_LOWER
from runfolio.store.types import json_text

Clause = ColumnElement[bool]


def resolve_page(limit: int | None, offset: int | None, max_limit: int) -> tuple[int, int]:
    """Apply the paging rules: null means default; the maximum is the default."""
    if limit is None:
        limit = max_limit
    if limit > max_limit:
        raise LimitTooLarge(max_limit)
    if limit < 0:
        raise Invalid("Invalid limit: must be greater than or equal to 0.")
    return limit, offset or 0


def _combine(clauses: list[Clause], operator: str) -> Clause | None:
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return or_(*clauses) if operator == "or_" else and_(*clauses)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _lowered(FunctionElement[str]):
    """`_lowered(text)`: every character lowercased, as PostgreSQL's `lower()` does it
    (SQLite's own `lower()` leaves non-ASCII letters as they are)."""

    type = Text()
    inherit_cache = True


@compiles(_lowered)
def _lowered_default(element: _lowered, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_lowered, "sqlite")
def _lowered_sqlite(element: _lowered, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQL_LOWER}({compiler.process(element.clauses, **kw)})"


class _unicode_ilike(FunctionElement[bool]):
    """`_unicode_ilike(text, pattern)`: `text ILIKE pattern` with every letter folded as
    PostgreSQL's `lower()` folds it."""

    type = Boolean()
    inherit_cache = True


@compiles(_unicode_ilike)
def _unicode_ilike_default(element: _unicode_ilike, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's ILIKE is lower() LIKE lower() in a UTF-8 database; written as ILIKE,
    # a trigram index on the column serves it (a lower(column) expression it cannot).
    column, pattern = element.clauses
    return compiler.process(column.ilike(pattern, escape="\\"), **kw)


@compiles(_unicode_ilike, "sqlite")
def _unicode_ilike_sqlite(element: _unicode_ilike, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's LIKE folds ASCII letters only: a Python function lowercases each row.
    column, pattern = element.clauses
    return compiler.process(_lowered(column).like(_lowered(pattern), escape="\\"), **kw)


def _like(column: ColumnElement[Any], value: str | None) -> Clause | None:
    if not value:
        return None
    pattern = f"%{_escape_like(value)}%"
    if value.isascii():
        # The common case, where SQLite's built-in folding (ASCII letters) is enough.
        return column.ilike(pattern, escape="\\")
    return _unicode_ilike(column, literal(pattern, Text))


def _any(column: ColumnElement[Any], values: Sequence[Any] | None) -> Clause | None:
    if values is None:
        return None
    if not values:
        return false()
    return column.in_(list(values))


def _not_any(column: ColumnElement[Any], values: Sequence[Any] | None) -> Clause | None:
    if not values:
        return None
    return column.not_in(list(values))


def _is_null(column: ColumnElement[Any], is_null: bool | None) -> Clause | None:
    if is_null is None:
        return None
    return column.is_(None) if is_null else column.is_not(None)


def _some(operator: str, *parts: Clause | None) -> Clause | None:
    """Join the criteria that are present with `operator`."""
    return _combine([p for p in parts if p is not None], operator)


def _all(*parts: Clause | None) -> Clause | None:
    present = [p for p in parts if p is not None]
    return _combine(present, "and_")


class _position(FunctionElement[int]):
    """`_position(haystack, needle)`: 1-based index of needle, 0 when absent.

    Case-sensitive on every backend (SQLite's LIKE is not): `instr` on SQLite,
    `strpos` elsewhere (PostgreSQL).
    """

    type = Integer()
    inherit_cache = True


@compiles(_position)
def _position_default(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(_position, "sqlite")
def _position_sqlite(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


def _tags(column: ColumnElement[Any], crit: f.TagsFilter | None) -> Clause | None:
    if crit is None:
        return None
    # Compare the stored JSON text itself (binding to the JSON column type would
    # JSON-encode the value compared with).
    stored = json_text(column)

    def has(tag: str) -> Clause:
        # Tags are stored as compact JSON (`["a","b"]`), written by JSONText. A whole
        # element is the encoded tag between `[` or `,` and `,` or `]`; inside a JSON
        # string a quote is always escaped, so these delimiters cannot occur there.
        encoded = json.dumps(tag, ensure_ascii=False)
        return or_(
            *[
                _position(stored, literal(f"{before}{encoded}{after}", Text)) > 0
                for before in "[,"
                for after in ",]"
            ]
        )

    parts: list[Clause] = []
    if crit.all_:
        parts.append(and_(*[has(t) for t in crit.all_]))
    if crit.any_ is not None:
        parts.append(or_(*[has(t) for t in crit.any_]) if crit.any_ else false())
    if crit.is_null_ is not None:
        parts.append(stored == "[]" if crit.is_null_ else stored != "[]")
    return _combine(parts, crit.operator)


def _time(column: ColumnElement[Any], crit: f.TimeFilter | None) -> Clause | None:
    if crit is None:
        return None
    return _all(
        column <= crit.before_ if crit.before_ else None,
        column >= crit.after_ if crit.after_ else None,
        _is_null(column, crit.is_null_),
    )


def _state(table: Table, crit: f.StateFilter | None) -> Clause | None:
    if crit is None:
        return None
    parts = [
        _all(
            _any(table.c.state_type, crit.type.any_),
            _not_any(table.c.state_type, crit.type.not_any_),
        )
        if crit.type
        else None,
        _all(
            _any(table.c.state_name, crit.name.any_),
            _not_any(table.c.state_name, crit.name.not_any_),
        )
        if crit.name
        else None,
    ]
    return _combine([p for p in parts if p is not None], crit.operator)


def _name(column: ColumnElement[Any], crit: f.NameFilter | None) -> Clause | None:
    if crit is None:
        return None
    return _all(_any(column, crit.any_), _like(column, crit.like_))


# -- object filters -----------------------------------------------------------------


def artifact_clauses(
    table: Table, crit: f.ArtifactFilter | f.ArtifactCollectionFilter | None
) -> Clause | None:
    """WHERE clause of an artifact or artifact-collection filter."""
    if crit is None:
        return None
    parts: list[Clause | None] = []
    if isinstance(crit, f.ArtifactFilter) and crit.id:
        parts.append(_any(table.c.id, crit.id.any_))
    if isinstance(crit, f.ArtifactCollectionFilter) and crit.latest_id:
        parts.append(_any(table.c.latest_id, crit.latest_id.any_))
    if crit.key:
        parts.append(
            _all(
                _any(table.c.key, crit.key.any_),
                _like(table.c.key, crit.key.like_),
                _is_null(table.c.key, None if crit.key.exists_ is None else not crit.key.exists_),
            )
        )
    if crit.flow_run_id:
        parts.append(_any(table.c.flow_run_id, crit.flow_run_id.any_))
    if crit.task_run_id:
        parts.append(_any(table.c.task_run_id, crit.task_run_id.any_))
    if crit.type:
        parts.append(
            _all(_any(table.c.type, crit.type.any_), _not_any(table.c.type, crit.type.not_any_))
        )
    return _combine([p for p in parts if p is not None], crit.operator)


def flow_clauses(crit: f.FlowFilter | None) -> Clause | None:
    if crit is None:
        return None
    t = flows
    parts: list[Clause | None] = []
    if crit.id:
        parts.append(_all(_any(t.c.id, crit.id.any_), _not_any(t.c.id, crit.id.not_any_)))
    if crit.deployment and crit.deployment.is_null_ is not None:
        # runfolio has no deployments: every flow has none.
        parts.append(true() if crit.deployment.is_null_ else false())
    parts.append(_name(t.c.name, crit.name))
    parts.append(_tags(t.c.tags, crit.tags))
    return _combine([p for p in parts if p is not None], crit.operator)


def flow_run_clauses(crit: f.FlowRunFilter | None) -> Clause | None:
    if crit is None:
        return None
    t = flow_runs
    parts: list[Clause | None] = []
    if crit.id:
        parts.append(_all(_any(t.c.id, crit.id.any_), _not_any(t.c.id, crit.id.not_any_)))
    parts.append(_name(t.c.name, crit.name))
    parts.append(_tags(t.c.tags, crit.tags))
    if crit.deployment_id:
        parts.append(
            _some(
                crit.deployment_id.operator,
                _any(t.c.deployment_id, crit.deployment_id.any_),
                _is_null(t.c.deployment_id, crit.deployment_id.is_null_),
            )
        )
    if crit.work_queue_name:
        parts.append(
            _some(
                crit.work_queue_name.operator,
                _any(t.c.work_queue_name, crit.work_queue_name.any_),
                _is_null(t.c.work_queue_name, crit.work_queue_name.is_null_),
            )
        )
    parts.append(_state(t, crit.state))
    if crit.flow_version:
        parts.append(_any(t.c.flow_version, crit.flow_version.any_))
    parts.append(
        _time(
            func.coalesce(t.c.start_time, t.c.expected_start_time), _without_null(crit.start_time)
        )
    )
    if crit.start_time and crit.start_time.is_null_ is not None:
        parts.append(_is_null(t.c.start_time, crit.start_time.is_null_))
    parts.append(_time(t.c.end_time, crit.end_time))
    parts.append(_time(t.c.expected_start_time, crit.expected_start_time))
    parts.append(_time(t.c.next_scheduled_start_time, crit.next_scheduled_start_time))
    if crit.parent_task_run_id:
        parts.append(
            _some(
                crit.parent_task_run_id.operator,
                _any(t.c.parent_task_run_id, crit.parent_task_run_id.any_),
                _is_null(t.c.parent_task_run_id, crit.parent_task_run_id.is_null_),
            )
        )
    if crit.parent_flow_run_id and crit.parent_flow_run_id.any_ is not None:
        parents = select(task_runs.c.id).where(
            task_runs.c.flow_run_id.in_(crit.parent_flow_run_id.any_)
        )
        parts.append(t.c.parent_task_run_id.in_(parents))
    if crit.idempotency_key:
        parts.append(
            _all(
                _any(t.c.idempotency_key, crit.idempotency_key.any_),
                _not_any(t.c.idempotency_key, crit.idempotency_key.not_any_),
            )
        )
    if crit.created_by:
        # runfolio records no creator: only "is null" can match.
        cb = crit.created_by
        if cb.id_ is not None or cb.type_ is not None or cb.is_null_ is False:
            parts.append(false())
    return _combine([p for p in parts if p is not None], crit.operator)


def _without_null(crit: f.TimeFilter | None) -> f.TimeFilter | None:
    if crit is None:
        return None
    return f.TimeFilter(before_=crit.before_, after_=crit.after_)


def task_run_clauses(crit: f.TaskRunFilter | None) -> Clause | None:
    if crit is None:
        return None
    t = task_runs
    parts: list[Clause | None] = []
    if crit.id:
        parts.append(_any(t.c.id, crit.id.any_))
    parts.append(_name(t.c.name, crit.name))
    parts.append(_tags(t.c.tags, crit.tags))
    parts.append(_state(t, crit.state))
    parts.append(_time(t.c.start_time, crit.start_time))
    parts.append(_time(t.c.end_time, crit.end_time))
    parts.append(_time(t.c.expected_start_time, crit.expected_start_time))
    if crit.subflow_runs and crit.subflow_runs.exists_ is not None:
        sub = select(flow_runs.c.parent_task_run_id).where(
            flow_runs.c.parent_task_run_id.is_not(None)
        )
        parts.append(t.c.id.in_(sub) if crit.subflow_runs.exists_ else t.c.id.not_in(sub))
    if crit.flow_run_id:
        parts.append(
            _some(
                crit.flow_run_id.operator,
                _any(t.c.flow_run_id, crit.flow_run_id.any_),
                _is_null(t.c.flow_run_id, crit.flow_run_id.is_null_),
            )
        )
    return _combine([p for p in parts if p is not None], crit.operator)


def related_clauses(
    table: Table, workspace_id: uuid.UUID, related: RelatedFilters | None
) -> list[Clause]:
    """The cross-object sub-filters: rows whose flow run / task run match."""
    if related is None:
        return []
    out: list[Clause] = []
    if related.deployments is not None:
        # No deployments exist in runfolio, so a deployment sub-filter matches nothing.
        return [false()]
    if related.flow_runs is not None or related.flows is not None:
        runs: Select[Any] = select(flow_runs.c.id).where(flow_runs.c.workspace_id == workspace_id)
        run_clause = flow_run_clauses(related.flow_runs)
        if run_clause is not None:
            runs = runs.where(run_clause)
        if related.flows is not None:
            runs = runs.join(flows, flows.c.id == flow_runs.c.flow_id)
            flow_clause = flow_clauses(related.flows)
            if flow_clause is not None:
                runs = runs.where(flow_clause)
        out.append(table.c.flow_run_id.in_(runs))
    if related.task_runs is not None:
        tasks = select(task_runs.c.id).where(task_runs.c.workspace_id == workspace_id)
        task_clause = task_run_clauses(related.task_runs)
        if task_clause is not None:
            tasks = tasks.where(task_clause)
        out.append(table.c.task_run_id.in_(tasks))
    return out


# -- sorting ------------------------------------------------------------------------


def artifact_order(table: Table, sort: ArtifactSort | None) -> list[UnaryExpression[Any]]:
    """ORDER BY for the five artifact sorts; the id breaks ties so pages are stable.

    NULL keys come first ascending and last descending on every backend.
    """
    sort = sort or ArtifactSort.ID_DESC
    c = table.c
    if sort is ArtifactSort.CREATED_DESC:
        return [c.created.desc(), c.id.desc()]
    if sort is ArtifactSort.UPDATED_DESC:
        return [c.updated.desc(), c.id.desc()]
    if not c.key.nullable:
        # A key that is never NULL (the keys' own table) needs no NULLS clause, and
        # PostgreSQL walks the key's index only for the order the index has.
        if sort is ArtifactSort.KEY_DESC:
            return [c.key.desc(), c.id.desc()]
        if sort is ArtifactSort.KEY_ASC:
            return [c.key.asc(), c.id.asc()]
    if sort is ArtifactSort.KEY_DESC:
        return [c.key.desc().nulls_last(), c.id.desc()]
    if sort is ArtifactSort.KEY_ASC:
        return [c.key.asc().nulls_first(), c.id.asc()]
    return [c.id.desc()]


def flow_run_order(sort: FlowRunSort | None) -> list[UnaryExpression[Any]]:
    c = flow_runs.c
    orders = {
        FlowRunSort.START_TIME_ASC: [c.start_time.asc().nulls_last()],
        FlowRunSort.START_TIME_DESC: [c.start_time.desc().nulls_last()],
        FlowRunSort.EXPECTED_START_TIME_ASC: [c.expected_start_time.asc().nulls_last()],
        FlowRunSort.EXPECTED_START_TIME_DESC: [c.expected_start_time.desc().nulls_last()],
        FlowRunSort.NAME_ASC: [c.name.asc()],
        FlowRunSort.NAME_DESC: [c.name.desc()],
        FlowRunSort.END_TIME_DESC: [c.end_time.desc().nulls_last()],
    }
    return [*orders.get(sort or FlowRunSort.ID_DESC, []), c.id.desc()]


def task_run_order(sort: TaskRunSort | None) -> list[UnaryExpression[Any]]:
    c = task_runs.c
    orders = {
        TaskRunSort.EXPECTED_START_TIME_ASC: [c.expected_start_time.asc().nulls_last()],
        TaskRunSort.EXPECTED_START_TIME_DESC: [c.expected_start_time.desc().nulls_last()],
        TaskRunSort.NAME_ASC: [c.name.asc()],
        TaskRunSort.NAME_DESC: [c.name.desc()],
        TaskRunSort.NEXT_SCHEDULED_START_TIME_ASC: [c.next_scheduled_start_time.asc().nulls_last()],
        TaskRunSort.END_TIME_DESC: [c.end_time.desc().nulls_last()],
    }
    return [*orders.get(sort or TaskRunSort.ID_DESC, []), c.id.desc()]
