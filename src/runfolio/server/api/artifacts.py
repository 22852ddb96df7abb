"""`/artifacts` routes: thin wrappers over `runfolio.store.artifacts`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path
from starlette.responses import Response

from runfolio.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
)
from runfolio.server.deps import DB, AppSettings, WorkspaceId
from runfolio.server.responses import empty, list_response, model_response
from runfolio.store import artifacts as store
from runfolio.store.engine import read, write
from runfolio.store.filtering import resolve_page

router = APIRouter(prefix="/artifacts", tags=["artifacts"])


@router.post("/", status_code=201, response_model=Artifact)
async def create_artifact(body: ArtifactCreate, db: DB, ws: WorkspaceId) -> Response:
    """Store a new version. A retried create with the same client-chosen `id` stores nothing new."""
    with write(db) as conn:
        artifact, created = store.create(conn, ws, body)
    return model_response(artifact, 201 if created else 200)


@router.get("/{artifact_id:uuid}", response_model=Artifact)
async def read_artifact(artifact_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    with read(db) as conn:
        return model_response(store.read(conn, ws, artifact_id))


@router.get("/{key}/latest", response_model=Artifact)
async def read_latest_artifact(key: Annotated[str, Path()], db: DB, ws: WorkspaceId) -> Response:
    """The latest version of `key`."""
    with read(db) as conn:
        return model_response(store.read_latest(conn, ws, key))


@router.patch("/{artifact_id:uuid}", status_code=204)
async def update_artifact(
    artifact_id: uuid.UUID, body: ArtifactUpdate, db: DB, ws: WorkspaceId
) -> Response:
    """Change `data`, `description` or `metadata_` in place (no new version)."""
    with write(db) as conn:
        store.update(conn, ws, artifact_id, body)
    return empty()


@router.delete("/{artifact_id:uuid}", status_code=204)
async def delete_artifact(artifact_id: uuid.UUID, db: DB, ws: WorkspaceId) -> Response:
    """Delete one version; the key's previous version becomes its latest."""
    with write(db) as conn:
        store.delete(conn, ws, artifact_id)
    return empty()


@router.post("/filter", response_model=list[Artifact])
async def filter_artifacts(
    db: DB, ws: WorkspaceId, settings: AppSettings, body: ArtifactFilterBody | None = None
) -> Response:
    body = body or ArtifactFilterBody()
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    with read(db) as conn:
        items = store.filter_artifacts(conn, ws, body.artifacts, body, body.sort, limit, offset)
    return list_response(items, Artifact)


@router.post("/latest/filter", response_model=list[ArtifactCollection])
async def filter_latest_artifacts(
    db: DB, ws: WorkspaceId, settings: AppSettings, body: CollectionFilterBody | None = None
) -> Response:
    body = body or CollectionFilterBody()
    limit, offset = resolve_page(body.limit, body.offset, settings.default_limit)
    with read(db) as conn:
        items = store.filter_collections(conn, ws, body.artifacts, body, body.sort, limit, offset)
    return list_response(items, ArtifactCollection)


@router.post("/count", response_model=int)
async def count_artifacts(
    db: DB, ws: WorkspaceId, body: Annotated[ArtifactCountBody | None, Body()] = None
) -> int:
    body = body or ArtifactCountBody()
    with read(db) as conn:
        return store.count_artifacts(conn, ws, body.artifacts, body)


@router.post("/latest/count", response_model=int)
async def count_latest_artifacts(
    db: DB, ws: WorkspaceId, body: Annotated[CollectionCountBody | None, Body()] = None
) -> int:
    body = body or CollectionCountBody()
    with read(db) as conn:
        return store.count_collections(conn, ws, body.artifacts, body)
