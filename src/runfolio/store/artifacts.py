"""Artifact versions and the latest-version-per-key collection.

The collection row of a key is kept right in the same transaction as every
create, update and delete. Functions take an open connection (inside a
transaction) and the workspace id; they never know about HTTP.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from runfolio.errors import Conflict, Invalid, NotFound
from runfolio.schemas.artifacts import (
    Artifact,
    ArtifactCollection,
    ArtifactCreate,
    ArtifactUpdate,
    check_data_for_type,
)
from runfolio.schemas.bodies import RelatedFilters
from runfolio.schemas.common import new_id, utcnow
from runfolio.schemas.filters import ArtifactCollectionFilter, ArtifactFilter
from runfolio.schemas.sorting import ArtifactSort
from runfolio.store import appends, filtering
from runfolio.store import changes as change_feed
from runfolio.store import webhooks as hooks
from runfolio.store.prepared import Prepared
from runfolio.store.tables import (
    artifact_collections,
    artifacts,
    columns_in,
    flow_runs,
    task_runs,
)

NOT_FOUND = "Artifact not found."

# What the schemas show of each table (the workspace stays inside the store).
ARTIFACT_COLUMNS = columns_in(artifacts, Artifact.model_fields)
COLLECTION_COLUMNS = columns_in(artifact_collections, ArtifactCollection.model_fields)
# The fields a collection row mirrors from its latest version.
_MIRRORED = ("type", "description", "data", "metadata_", "flow_run_id", "task_run_id")


def _invalid_data(value: Any, reason: str) -> Invalid:
    """A 422 about `data`, shaped like pydantic's own value errors."""
    return Invalid(
        f"body.data: {reason}",
        [
            {
                "type": "value_error",
                "loc": ["body", "data"],
                "msg": f"Value error, {reason}",
                "input": value,
                "ctx": {"error": reason},
            }
        ],
    )


def _check_json(data: Any) -> None:
    """Refuse NaN and Infinity anywhere in `data`: they are not JSON, and storing them
    would give back something other than what was sent."""
    if not _is_json(data):
        raise _invalid_data(data, "data must not contain NaN or Infinity")


def _is_json(data: Any) -> bool:
    """No NaN or Infinity anywhere in `data`."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return False
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def _check_type(type_: str | None, data: Any) -> None:
    try:
        check_data_for_type(type_, data)
    except ValueError as exc:
        raise _invalid_data(data, str(exc)) from None


# Which workspaces the runs an artifact names belong to (one round trip for both).
_RUN_WORKSPACES = Prepared(
    union_all(
        select(flow_runs.c.workspace_id.label("ws"), bindparam("kind_fr").label("kind")).where(
            flow_runs.c.id == bindparam("flow_run_id")
        ),
        select(task_runs.c.workspace_id.label("ws"), bindparam("kind_tr").label("kind")).where(
            task_runs.c.id == bindparam("task_run_id")
        ),
    )
)


def _check_runs_in_workspace(
    conn: Connection, workspace_id: uuid.UUID, action: ArtifactCreate
) -> None:
    """Refuse a flow or task run of another workspace. (A run id that is not stored
    at all is accepted, as the protocol's server does: runs may be recorded later.)"""
    if action.flow_run_id is None and action.task_run_id is None:
        return
    params = {
        "flow_run_id": action.flow_run_id,
        "task_run_id": action.task_run_id,
        "kind_fr": "flow_run_id",
        "kind_tr": "task_run_id",
    }
    for ws, field in _RUN_WORKSPACES.rows(conn, params):
        if ws != workspace_id:
            raise Invalid.field(
                ("body", field),
                "names a run of another workspace; an artifact can only belong to a run "
                "of its own workspace",
                str(getattr(action, field)),
            )


def _to_artifact(row: Row[Any]) -> Artifact:
    # pydantic's (compiled) validation is faster than model_construct here.
    return Artifact.model_validate(row._mapping)


def _to_collection(row: Row[Any]) -> ArtifactCollection:
    return ArtifactCollection.model_validate(row._mapping)


M = TypeVar("M", bound=BaseModel)
_ARTIFACT_PAGE = TypeAdapter(list[Artifact])
_COLLECTION_PAGE = TypeAdapter(list[ArtifactCollection])


def _validated_page(page: TypeAdapter[list[M]], rows: Sequence[Row[Any]]) -> list[M]:
    """A listing's rows as models, validated in one call from plain dicts: a third of the
    CPU of a model per row from its row mapping (0.1 against 0.3 ms for 50 rows)."""
    if not rows:
        return []
    names = rows[0]._fields
    return page.validate_python([dict(zip(names, row, strict=True)) for row in rows])


def _same_content(row: Row[Any], action: ArtifactCreate) -> bool:
    """Whether a stored version holds exactly what `action` would store.

    JSON values compare by their encoding: `1`, `1.0` and `true` are equal in Python
    but are different content on the wire.
    """
    return row.key == action.key and all(
        _encoded(getattr(row, name)) == _encoded(getattr(action, name)) for name in _MIRRORED
    )


def _encoded(value: Any) -> Any:
    if isinstance(value, uuid.UUID) or value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# Static statements of the create path: compiled once per dialect, run on the driver
# (`Prepared`): every create runs them.
_BY_ID = select(*ARTIFACT_COLUMNS).where(
    artifacts.c.workspace_id == bindparam("ws_"), artifacts.c.id == bindparam("id_")
)
_VERSION_COLUMNS = (
    "id",
    "workspace_id",
    "key",
    "type",
    "description",
    "data",
    "metadata_",
    "flow_run_id",
    "task_run_id",
    "created_by",
    "created",
    "updated",
)
_INSERT_VERSION = Prepared(artifacts.insert(), _VERSION_COLUMNS)
_INSERTS_UNLESS_TAKEN: dict[str, Prepared] = {}


def _insert_version(conn: Connection, row: dict[str, Any], client_id: bool) -> bool:
    """Insert a version; False (nothing written) if its id may be taken in the workspace,
    for `_replayed` to look.

    On SQLite and PostgreSQL a taken id does nothing (ON CONFLICT DO NOTHING) instead of
    failing, so the transaction goes on without a savepoint (two more round trips on
    PostgreSQL). Another refusal fails the write, as before; with the client's id it is
    a Conflict, as `_replayed` would find (the id is not stored).
    """
    dialect = conn.dialect.name
    try:
        if dialect not in ("sqlite", "postgresql"):
            with conn.begin_nested():  # keeps the transaction after a failed statement
                _INSERT_VERSION.run(conn, row)
            return True
        stmt = _INSERTS_UNLESS_TAKEN.get(dialect)
        if stmt is None:
            module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
            insert = module.insert(artifacts).on_conflict_do_nothing(
                index_elements=["workspace_id", "id"]
            )
            stmt = _INSERTS_UNLESS_TAKEN[dialect] = Prepared(insert, _VERSION_COLUMNS)
        return stmt.rowcount(conn, row) == 1
    except IntegrityError:
        if not client_id:
            raise
        if dialect == "postgresql":  # the failed statement ended the transaction
            raise _id_used(row["id"]) from None
        return False


def _id_used(artifact_id: uuid.UUID | None) -> Conflict:
    return Conflict(f"Artifact id {artifact_id} is already used by another artifact.")


_COLLECTION_COLUMNS = (
    "id",
    "workspace_id",
    "key",
    "latest_id",
    "latest_created",
    "created",
    "updated",
    *_MIRRORED,
)
_UPSERTS: dict[str, Prepared] = {}


def _upsert_into(insert: Any) -> Any:
    """`insert` (of a collection row) made an upsert that moves the key's row to the new
    version only if it is newer, by (created, id), than the latest the row names.

    How a key's latest stays right under concurrent writers (PostgreSQL runs them side by
    side): ON CONFLICT DO UPDATE locks the key's row and checks the WHERE against the row
    as the last writer committed it, so whichever order creates commit in, the row ends
    on the newest version; no lock of our own is needed. A delete locks the row first
    (`delete`). A create delivered late (an older `created`) leaves a newer latest alone.
    """
    excluded = insert.excluded
    current = artifact_collections.c
    return insert.on_conflict_do_update(
        index_elements=["workspace_id", "key"],
        set_={
            "latest_id": excluded.latest_id,
            "latest_created": excluded.latest_created,
            "updated": excluded.updated,
            **{name: excluded[name] for name in _MIRRORED},
        },
        where=tuple_(current.latest_created, current.latest_id)
        < tuple_(excluded.latest_created, excluded.latest_id),
    )


def _dialect_module(dialect: str) -> Any:
    # Imported when first needed (PostgreSQL's costs 50 ms).
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}")


def _upsert_collection(conn: Connection, version: dict[str, Any]) -> None:
    """Point the key's collection row at `version` (its row) if it is the newest, creating
    the row if needed (SQLite: one writer at a time)."""
    stmt = _UPSERTS.get(conn.dialect.name)
    if stmt is None:
        upsert = _upsert_into(_dialect_module(conn.dialect.name).insert(artifact_collections))
        stmt = _UPSERTS[conn.dialect.name] = Prepared(upsert, _COLLECTION_COLUMNS)
    made = version["created"]
    row = {
        "id": new_id(),
        "workspace_id": version["workspace_id"],
        "key": version["key"],
        "latest_id": version["id"],
        "latest_created": made,
        "created": made,
        "updated": made,
        **{name: version[name] for name in _MIRRORED},
    }
    stmt.run(conn, row)


# PostgreSQL: a create in one statement (one round trip where separate statements take
# three, each costing more client CPU than the database's work).
@functools.cache
def _create_statement() -> Prepared:
    """The version (unless its id is taken, or it names a run of another workspace), its
    key's row (`_upsert_into`) and its change row, as one PostgreSQL statement whose
    rows are the version's id if it was written."""
    module = _dialect_module("postgresql")
    given = {name: bindparam(name, type_=artifacts.c[name].type) for name in _VERSION_COLUMNS}
    ws = given["workspace_id"]
    foreign_run = or_(
        exists().where(flow_runs.c.id == given["flow_run_id"], flow_runs.c.workspace_id != ws),
        exists().where(task_runs.c.id == given["task_run_id"], task_runs.c.workspace_id != ws),
    )
    version = (
        module.insert(artifacts)
        .from_select(list(_VERSION_COLUMNS), select(*given.values()).where(~foreign_run))
        .on_conflict_do_nothing(index_elements=["workspace_id", "id"])
        .returning(artifacts.c.id)
        .cte("version")
    )
    collection_id = bindparam("collection_id", type_=artifact_collections.c.id.type)
    made = given["created"]
    latest = _upsert_into(
        module.insert(artifact_collections).from_select(
            list(_COLLECTION_COLUMNS),
            select(
                collection_id,
                ws,
                given["key"],
                version.c.id,
                made,
                made,
                made,
                *(given[name] for name in _MIRRORED),
            ).where(given["key"].is_not(None)),
        )  # fmt: skip
    ).cte("latest")
    change = change_feed.artifact_change_from(
        "created", version.c.id, ws, given["key"], given["flow_run_id"], made
    )
    return Prepared(select(version.c.id).add_cte(latest, change.cte("change")))


def _create_params(row: dict[str, Any]) -> dict[str, Any]:
    """`_create_statement`'s parameters: the version's row and a new key row's id."""
    return {**row, "collection_id": new_id()}


@dataclass(frozen=True, slots=True)
class PlannedCreate:
    """A create checked and ready to write: the version's row, and the artifact it answers."""

    row: dict[str, Any]
    artifact: Artifact


def plan_create(
    workspace_id: uuid.UUID,
    action: ArtifactCreate,
    *,
    strict: bool = False,
    created_by: str | None = None,
) -> PlannedCreate:
    """Check `action` (Invalid if its data is not storable) and stamp it; no database.

    With `strict`, data that does not fit a known type is refused.
    """
    _check_json(action.data)
    if strict:
        _check_type(action.type, action.data)
    now = _made_at(action, utcnow())
    values = {
        "id": action.id or new_id(),
        "key": action.key,
        "type": action.type,
        "description": action.description,
        "data": action.data,
        "metadata_": action.metadata_,
        "flow_run_id": action.flow_run_id,
        "task_run_id": action.task_run_id,
    }
    row = {
        "workspace_id": workspace_id,
        "created": now,
        "updated": now,
        "created_by": created_by,
        **values,
    }
    return PlannedCreate(row, Artifact.model_construct(created=now, updated=now, **values))


def create(
    conn: Connection,
    workspace_id: uuid.UUID,
    action: ArtifactCreate,
    *,
    strict: bool = False,
    created_by: str | None = None,
) -> tuple[Artifact, bool]:
    """Store a new version. Returns the artifact and whether it was newly created.

    A create carrying an id that is already stored with the same content is an
    idempotent retry and returns the stored artifact; other content is a Conflict.
    With `strict`, data that does not fit a known type is refused.
    """
    plan = plan_create(workspace_id, action, strict=strict, created_by=created_by)
    if not _write_version(conn, workspace_id, action, plan.row):
        _check_runs_in_workspace(conn, workspace_id, action)  # why it was not written
        return _replayed(conn, workspace_id, action), False
    hooks.artifact_created(conn, workspace_id, plan.artifact)  # deliveries, same transaction
    return plan.artifact, True


async def create_in_autocommit(aconn: Any, dialect: Dialect, plan: PlannedCreate) -> bool:
    """Write a planned create as one statement on an async psycopg connection in
    autocommit mode (PostgreSQL): the statement is its own transaction. False: nothing
    was written (the id may be taken, a run named may be of another workspace), for
    `create` to find out and answer. Webhook deliveries are not queued here: only for a
    workspace known to have no active webhook (`webhooks.known_inactive`).
    """
    return bool(await _create_statement().rows_async(aconn, dialect, _create_params(plan.row)))


def _write_version(
    conn: Connection, workspace_id: uuid.UUID, action: ArtifactCreate, row: dict[str, Any]
) -> bool:
    """Write the version, its key's row and its change row; False (nothing written) if
    the id may be taken or a run named is of another workspace."""
    if conn.dialect.name == "postgresql":
        try:
            return bool(_create_statement().rows(conn, _create_params(row)))
        except IntegrityError:  # a refusal other than the taken id: the transaction ended
            if action.id is None:
                raise
            raise _id_used(action.id) from None
    _check_runs_in_workspace(conn, workspace_id, action)
    # The version row goes first: if its id is taken, nothing else is written.
    if not _insert_version(conn, row, action.id is not None):
        return False
    if action.key is not None:
        _upsert_collection(conn, row)
    change_feed.record(
        conn,
        workspace_id,
        "artifact",
        "created",
        row["id"],
        key=action.key,
        flow_run_id=action.flow_run_id,
        at=row["created"],
    )
    return True


def _made_at(action: ArtifactCreate, now: dt.datetime) -> dt.datetime:
    """When the version was made: the client's `created` for a late delivery, else now.

    A time ahead of the server's clock (clocks differ) is taken as now: a version cannot
    have been made after it arrived.
    """
    if action.created is None:
        return now
    made = min(action.created.astimezone(dt.UTC), now)
    if not made.microsecond:  # as `utcnow` does: times are always written with a fraction
        made = made.replace(microsecond=1)
    return made


def _replayed(conn: Connection, workspace_id: uuid.UUID, action: ArtifactCreate) -> Artifact:
    """A create whose id is taken in this workspace: the same content is a retry, other
    content a Conflict. (Ids are per workspace, so another workspace's never clash.)"""
    existing = conn.execute(_BY_ID, {"ws_": workspace_id, "id_": action.id}).first()
    if existing is not None and _same_content(existing, action):
        return Artifact.model_construct(**existing._mapping)
    raise _id_used(action.id)


def read(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> Artifact:
    row = conn.execute(
        select(*ARTIFACT_COLUMNS).where(
            artifacts.c.id == artifact_id, artifacts.c.workspace_id == workspace_id
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _to_artifact(row)


def read_latest(conn: Connection, workspace_id: uuid.UUID, key: str) -> Artifact:
    """The latest version of `key` (the artifact itself, with its own id)."""
    row = conn.execute(
        select(*ARTIFACT_COLUMNS)
        .join(
            artifact_collections,
            (artifact_collections.c.latest_id == artifacts.c.id)
            & (artifact_collections.c.workspace_id == artifacts.c.workspace_id),
        )
        .where(
            artifact_collections.c.workspace_id == workspace_id,
            artifact_collections.c.key == key,
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _to_artifact(row)


def read_collection(conn: Connection, workspace_id: uuid.UUID, key: str) -> ArtifactCollection:
    row = conn.execute(
        select(*COLLECTION_COLUMNS).where(
            artifact_collections.c.workspace_id == workspace_id,
            artifact_collections.c.key == key,
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _to_collection(row)


def update(
    conn: Connection,
    workspace_id: uuid.UUID,
    artifact_id: uuid.UUID,
    action: ArtifactUpdate,
    *,
    strict: bool = False,
) -> None:
    """Change a version in place (no new version); the collection follows if it is the latest.

    With `strict`, data that does not fit the artifact's known type is refused.
    """
    found = _UPDATED_VERSION.rows(conn, {"ws_": workspace_id, "id_": artifact_id})
    if not found:
        raise NotFound(NOT_FOUND)
    type_, key, flow_run_id = found[0]
    changes = {name: getattr(action, name) for name in action.model_fields_set}
    if "data" in changes:
        if strict:
            _check_type(type_, changes["data"])
        _check_json(changes["data"])
    watched = hooks.watch(conn, workspace_id, artifact_id)
    if "data" in changes and type_ == "table":
        appends.clear(conn, workspace_id, artifact_id)  # the new table replaces them too
    now = utcnow()
    version, collection = _updates(tuple(sorted(changes)))
    params = {"ws_": workspace_id, "id_": artifact_id, "updated": now, **changes}
    version.run(conn, params)
    hooks.artifact_updated(conn, workspace_id, watched)
    collection.run(conn, params)
    change_feed.record(
        conn,
        workspace_id,
        "artifact",
        "updated",
        artifact_id,
        key=key,
        flow_run_id=flow_run_id,
        at=now,
    )


async def update_in_autocommit(
    aconn: Any,
    dialect: Dialect,
    workspace_id: uuid.UUID,
    artifact_id: uuid.UUID,
    action: ArtifactUpdate,
) -> bool:
    """`update` as one statement on an async psycopg connection in autocommit mode
    (PostgreSQL), for a workspace known to have no active webhook and data not checked
    against its type. False: nothing was written (no such version, a table whose data is
    replaced: its appended rows go too; data that is not JSON), for `update` to answer.
    """
    changes = {name: getattr(action, name) for name in action.model_fields_set}
    if "data" in changes and not _is_json(changes["data"]):
        return False
    params = {"ws_": workspace_id, "id_": artifact_id, "updated": utcnow(), **changes}
    statement = _update_statement(tuple(sorted(changes)))
    return bool(await statement.rows_async(aconn, dialect, params))


@functools.cache  # per set of fields (of three, so at most eight)
def _update_statement(fields: tuple[str, ...]) -> Prepared:
    """PostgreSQL: the version's update setting `updated` and `fields` (not a table's
    data), its key's row's if it is the latest, and its change row, as one statement
    whose rows are the version's id if it was changed."""
    given = {name: bindparam(name, type_=artifacts.c[name].type) for name in ("updated", *fields)}
    ws = bindparam("ws_", type_=artifacts.c.workspace_id.type)
    where = [artifacts.c.workspace_id == ws, artifacts.c.id == bindparam("id_")]
    if "data" in fields:
        where.append(artifacts.c.type.is_distinct_from("table"))
    version = (
        artifacts.update()
        .where(*where)
        .values(given)
        .returning(artifacts.c.id, artifacts.c.key, artifacts.c.flow_run_id)
        .cte("version")
    )
    c = artifact_collections.c
    latest = (
        artifact_collections.update()
        .where(c.workspace_id == ws, c.latest_id.in_(select(version.c.id)))
        .values(given)
        .cte("latest")
    )
    change = change_feed.artifact_change_from(
        "updated", version.c.id, ws, version.c.key, version.c.flow_run_id, given["updated"]
    )
    return Prepared(select(version.c.id).add_cte(latest, change.cte("change")))


# What an update reads of the version, and its two UPDATEs per set of fields changed
# (of three, so at most seven pairs): progress updates are frequent.
_UPDATED_VERSION = Prepared(
    select(artifacts.c.type, artifacts.c.key, artifacts.c.flow_run_id).where(
        artifacts.c.workspace_id == bindparam("ws_"), artifacts.c.id == bindparam("id_")
    )
)
_UPDATES: dict[tuple[str, ...], tuple[Prepared, Prepared]] = {}


def _updates(fields: tuple[str, ...]) -> tuple[Prepared, Prepared]:
    """The UPDATE of the version and of its key's row (if it is the latest) setting
    `updated` and `fields`, each bound under its own name."""
    pair = _UPDATES.get(fields)
    if pair is None:
        version = artifacts.update().where(
            artifacts.c.workspace_id == bindparam("ws_"), artifacts.c.id == bindparam("id_")
        )
        collection = artifact_collections.update().where(
            artifact_collections.c.workspace_id == bindparam("ws_"),
            artifact_collections.c.latest_id == bindparam("id_"),
        )
        columns = ("updated", *fields)
        pair = _UPDATES[fields] = (Prepared(version, columns), Prepared(collection, columns))
    return pair


def lock_key(conn: Connection, workspace_id: uuid.UUID, key: str) -> uuid.UUID | None:
    """Lock the key's collection row until this transaction ends (PostgreSQL; SQLite has
    one writer at a time); its latest id, None if the key has no row.

    A create then waits to move the row and compares its version with the latest this
    transaction leaves; a delete or a retention pass waits to read it.
    """
    c = artifact_collections.c
    locked = select(c.latest_id).where(c.workspace_id == workspace_id, c.key == key)
    return conn.execute(locked.with_for_update()).scalar()


def delete(conn: Connection, workspace_id: uuid.UUID, artifact_id: uuid.UUID) -> None:
    """Delete a version; if it was its key's latest, the previous version takes over."""
    row = conn.execute(
        select(artifacts.c.key, artifacts.c.flow_run_id).where(
            artifacts.c.id == artifact_id, artifacts.c.workspace_id == workspace_id
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    watched = hooks.watch(conn, workspace_id, artifact_id)
    hooks.artifact_deleted(conn, workspace_id, watched)
    conn.execute(
        artifacts.delete().where(
            artifacts.c.workspace_id == workspace_id, artifacts.c.id == artifact_id
        )
    )
    appends.clear(conn, workspace_id, artifact_id)
    change_feed.record(
        conn,
        workspace_id,
        "artifact",
        "deleted",
        artifact_id,
        key=row.key,
        flow_run_id=row.flow_run_id,
    )
    if row.key is None:
        return
    if lock_key(conn, workspace_id, row.key) != artifact_id:
        return
    collection = artifact_collections
    where = (collection.c.workspace_id == workspace_id, collection.c.key == row.key)
    previous = conn.execute(
        select(*ARTIFACT_COLUMNS)
        .where(artifacts.c.workspace_id == workspace_id, artifacts.c.key == row.key)
        .order_by(artifacts.c.created.desc(), artifacts.c.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        conn.execute(collection.delete().where(*where))
        return
    conn.execute(
        collection.update()
        .where(*where)
        .values(
            latest_id=previous.id,
            latest_created=previous.created,
            created=previous.created,
            updated=previous.updated,
            **{name: getattr(previous, name) for name in _MIRRORED},
        )
    )


def _filtered(
    table: Table,
    columns: Sequence[ColumnElement[Any]],
    workspace_id: uuid.UUID,
    crit: ArtifactFilter | ArtifactCollectionFilter | None,
    related: RelatedFilters | None,
) -> Select[Any]:
    stmt = select(*columns).where(table.c.workspace_id == workspace_id)
    clause = filtering.artifact_clauses(table, crit)
    if clause is not None:
        stmt = stmt.where(clause)
    for extra in filtering.related_clauses(table, workspace_id, related):
        stmt = stmt.where(extra)
    return stmt


def filter_artifacts(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: ArtifactFilter | None = None,
    related: RelatedFilters | None = None,
    sort: ArtifactSort | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Artifact]:
    """A page of versions, with the table rows appended to them (`appends`) in their data."""
    columns = (*ARTIFACT_COLUMNS, appends.has_appended_rows(artifacts, artifacts.c.id))
    stmt = _filtered(artifacts, columns, workspace_id, crit, related)
    stmt = stmt.order_by(*filtering.artifact_order(artifacts, sort)).limit(limit).offset(offset)
    rows = conn.execute(stmt).all()
    with_rows = [row.id for row in rows if row.has_appended_rows]
    found = _validated_page(_ARTIFACT_PAGE, rows)
    return appends.merge_into(conn, workspace_id, found, appended_to=with_rows)


def count_artifacts(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: ArtifactFilter | None = None,
    related: RelatedFilters | None = None,
) -> int:
    stmt = _filtered(artifacts, [func.count()], workspace_id, crit, related)
    return int(conn.execute(stmt).scalar_one())


def filter_collections(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: ArtifactCollectionFilter | None = None,
    related: RelatedFilters | None = None,
    sort: ArtifactSort | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ArtifactCollection]:
    """A page of keys' latest versions, with the table rows appended to them in their data."""
    table = artifact_collections
    columns = (*COLLECTION_COLUMNS, appends.has_appended_rows(table, table.c.latest_id))
    stmt = _filtered(table, columns, workspace_id, crit, related)
    stmt = stmt.order_by(*filtering.artifact_order(table, sort)).limit(limit).offset(offset)
    rows = conn.execute(stmt).all()
    with_rows = [row.latest_id for row in rows if row.has_appended_rows]
    found = _validated_page(_COLLECTION_PAGE, rows)
    return appends.merge_into(conn, workspace_id, found, id_of="latest_id", appended_to=with_rows)


def count_collections(
    conn: Connection,
    workspace_id: uuid.UUID,
    crit: ArtifactCollectionFilter | None = None,
    related: RelatedFilters | None = None,
) -> int:
    stmt = _filtered(artifact_collections, [func.count()], workspace_id, crit, related)
    return int(conn.execute(stmt).scalar_one())
