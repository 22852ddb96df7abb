"""`/artifacts` routes: thin wrappers over `runfolio.ops`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path
from starlette.responses import Response

from runfolio import ops
from runfolio.schemas.appends import RowsAppend, RowsAppended
from runfolio.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.bodies import (
    ArtifactCountBody,
    ArtifactFilterBody,
    CollectionCountBody,
    CollectionFilterBody,
)
from runfolio.server.deps import Api, ApiDep
from runfolio.server.hot_routes import HotRoute
from runfolio.server.responses import empty, list_response, model_response

router = APIRouter(prefix="/artifacts", tags=["artifacts"])


@router.post(
    "/",
    status_code=201,
    response_model=Artifact,
    responses={200: {"model": Artifact, "description": "A retried create: the stored version."}},
)
async def create_artifact(body: ArtifactCreate, api: ApiDep) -> Response:
    """Store a new version. A retried create with the same client-chosen `id` stores nothing new."""
    return await _create(api, {}, body)


async def _create(api: Api, params: dict[str, str], body: ArtifactCreate) -> Response:
    quick = api.gate.postgres_quick_writes
    if quick is not None:  # PostgreSQL: the plain case as one statement on the loop
        made = await quick.create(api.ctx, body)
        if made is not None:
            return model_response(made, 201)
    artifact, created = await api.quick_write(ops.create_artifact, body)
    return model_response(artifact, 201 if created else 200)


@router.get("/{artifact_id:uuid}", response_model=Artifact)
async def read_artifact(artifact_id: uuid.UUID, api: ApiDep) -> Response:
    return model_response(await api.read(ops.read_artifact, artifact_id))


@router.get("/{key}/latest", response_model=Artifact)
async def read_latest_artifact(key: Annotated[str, Path()], api: ApiDep) -> Response:
    """The latest version of `key`."""
    return model_response(await api.read(ops.read_latest_artifact, key))


@router.patch("/{artifact_id:uuid}", status_code=204)
async def update_artifact(artifact_id: uuid.UUID, body: ArtifactUpdate, api: ApiDep) -> Response:
    """Change `data`, `description` or `metadata_` in place (no new version)."""
    quick = api.gate.postgres_quick_writes
    # PostgreSQL: the plain case as one statement on the loop.
    if quick is None or not await quick.update(api.ctx, artifact_id, body):
        await api.quick_write(ops.update_artifact, artifact_id, body)
    return empty()


async def _update(api: Api, params: dict[str, str], body: ArtifactUpdate) -> Response:
    return await update_artifact(uuid.UUID(params["artifact_id"]), body, api)


@router.post("/{artifact_id:uuid}/rows", response_model=RowsAppended)
async def append_table_rows(artifact_id: uuid.UUID, body: RowsAppend, api: ApiDep) -> Response:
    """runfolio extension: add rows at the end of a table artifact in place (no new version,
    the stored table is not rewritten); `updated` moves. Rows must have the table's columns
    (objects with its keys, or lists as long as its rows)."""
    return model_response(await api.write(ops.append_table_rows, artifact_id, body))


@router.delete("/{artifact_id:uuid}", status_code=204)
async def delete_artifact(artifact_id: uuid.UUID, api: ApiDep) -> Response:
    """Delete one version; the key's previous version becomes its latest."""
    await api.write(ops.delete_artifact, artifact_id)
    return empty()


@router.post("/filter", response_model=list[Artifact])
async def filter_artifacts(api: ApiDep, body: ArtifactFilterBody | None = None) -> Response:
    items = await api.read(ops.filter_artifacts, body or ArtifactFilterBody())
    return list_response(items, Artifact)


async def _filter(api: Api, params: dict[str, str], body: ArtifactFilterBody) -> Response:
    return await filter_artifacts(api, body)


@router.post("/latest/filter", response_model=list[ArtifactCollection])
async def filter_latest_artifacts(
    api: ApiDep, body: CollectionFilterBody | None = None
) -> Response:
    items = await api.read(ops.filter_latest_artifacts, body or CollectionFilterBody())
    return list_response(items, ArtifactCollection)


async def _filter_latest(api: Api, params: dict[str, str], body: CollectionFilterBody) -> Response:
    return await filter_latest_artifacts(api, body)


#: The two routes every task run calls, and the listings clients page through most,
#: also served past FastAPI's routing (`hot_routes`): its machinery costs a listing of
#: 50 a fifth of its server CPU.
HOT_ROUTES = (
    HotRoute("POST", "/artifacts/", ArtifactCreate, _create),
    HotRoute("PATCH", "/artifacts/{artifact_id:uuid}", ArtifactUpdate, _update),
    HotRoute("POST", "/artifacts/filter", ArtifactFilterBody, _filter),
    HotRoute("POST", "/artifacts/latest/filter", CollectionFilterBody, _filter_latest),
)


@router.post("/count", response_model=int)
async def count_artifacts(
    api: ApiDep, body: Annotated[ArtifactCountBody | None, Body()] = None
) -> int:
    return await api.read(ops.count_artifacts, body or ArtifactCountBody())


@router.post("/latest/count", response_model=int)
async def count_latest_artifacts(
    api: ApiDep, body: Annotated[CollectionCountBody | None, Body()] = None
) -> int:
    return await api.read(ops.count_latest_artifacts, body or CollectionCountBody())
