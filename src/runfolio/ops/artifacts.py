"""Artifact operations."""

from __future__ import annotations

import uuid

from runfolio.ops.access import Role
from runfolio.ops.context import Context
from runfolio.schemas.appends import RowsAppend, RowsAppended
from runfolio.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
)
from runfolio.store import appends, webhooks
from runfolio.store import artifacts as store


def create_artifact(ctx: Context, action: ArtifactCreate) -> tuple[Artifact, bool]:
    """Store a new version; `False` when a retried create with the same id stored nothing."""
    with ctx.writing() as (conn, ws):
        return store.create(
            conn, ws, action, strict=ctx.strict_artifact_data, created_by=ctx.caller.principal.name
        )


def read_artifact(ctx: Context, artifact_id: uuid.UUID) -> Artifact:
    with ctx.reading() as (conn, ws):
        return appends.merge_into(conn, ws, [store.read(conn, ws, artifact_id)])[0]


def read_latest_artifact(ctx: Context, key: str) -> Artifact:
    with ctx.reading() as (conn, ws):
        return appends.merge_into(conn, ws, [store.read_latest(conn, ws, key)])[0]


def update_artifact(ctx: Context, artifact_id: uuid.UUID, action: ArtifactUpdate) -> None:
    with ctx.writing() as (conn, ws):
        store.update(conn, ws, artifact_id, action, strict=ctx.strict_artifact_data)


def append_table_rows(ctx: Context, artifact_id: uuid.UUID, action: RowsAppend) -> RowsAppended:
    """Add rows to a table artifact in place (reads show them at the table's end)."""
    with ctx.writing() as (conn, ws):
        # Webhooks see the table with its rows, before and after (same transaction).
        watched = webhooks.watch(conn, ws, artifact_id)
        appended, added = appends.append(conn, ws, artifact_id, action.rows, action.id)
        if added:  # a replayed append changed nothing
            webhooks.artifact_updated(conn, ws, watched)
        return appended


def delete_artifact(ctx: Context, artifact_id: uuid.UUID) -> None:
    with ctx.writing(Role.ADMIN) as (conn, ws):
        store.delete(conn, ws, artifact_id)


def filter_artifacts(ctx: Context, body: ArtifactFilterBody) -> list[Artifact]:
    limit, offset = ctx.page(body.limit, body.offset)
    # The page and its tables' appended rows are read without a common snapshot on
    # PostgreSQL, as they were in a READ COMMITTED transaction (`read`).
    with ctx.reading(snapshot=False) as (conn, ws):
        return store.filter_artifacts(conn, ws, body.artifacts, body, body.sort, limit, offset)


def filter_latest_artifacts(ctx: Context, body: CollectionFilterBody) -> list[ArtifactCollection]:
    limit, offset = ctx.page(body.limit, body.offset)
    with ctx.reading(snapshot=False) as (conn, ws):  # as `filter_artifacts`
        return store.filter_collections(conn, ws, body.artifacts, body, body.sort, limit, offset)


def count_artifacts(ctx: Context, body: ArtifactCountBody) -> int:
    with ctx.reading() as (conn, ws):
        return store.count_artifacts(conn, ws, body.artifacts, body)


def count_latest_artifacts(ctx: Context, body: CollectionCountBody) -> int:
    with ctx.reading() as (conn, ws):
        return store.count_collections(conn, ws, body.artifacts, body)
