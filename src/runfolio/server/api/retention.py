"""`/retention/policies` (a runfolio extension): how long each key's versions are kept.

    GET    /retention/policies                  the workspace's policies (read role)
    PUT    /retention/policies                  set one pattern's policy (admin role)
    DELETE /retention/policies?key_pattern=...  remove one (admin role)

The server applies them on a schedule (RUNFOLIO_RETENTION_INTERVAL); `runfolio gc`
applies them at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from runfolio.ops import retention as ops
from runfolio.schemas.retention import (
    PATTERN_MAX,
    PATTERN_RULE,
    RetentionPolicy,
    RetentionPolicySet,
)
from runfolio.server.deps import ApiDep
from runfolio.server.responses import empty, list_response, model_response

router = APIRouter(prefix="/retention", tags=["retention"])

PatternQuery = Annotated[
    str,
    Query(
        min_length=1, max_length=PATTERN_MAX, pattern=PATTERN_RULE, description="The key pattern."
    ),
]


@router.get("/policies", response_model=list[RetentionPolicy])
async def list_policies(api: ApiDep) -> Response:
    """The workspace's policies, the most specific pattern first (the order they apply in)."""
    return list_response(await api.read(ops.list_policies), RetentionPolicy)


@router.put(
    "/policies",
    response_model=RetentionPolicy,
    responses={201: {"model": RetentionPolicy, "description": "A new pattern's policy."}},
)
async def set_policy(body: RetentionPolicySet, api: ApiDep) -> Response:
    """Set the policy of `key_pattern` (201 when the pattern had none, else 200)."""
    policy, created = await api.write(ops.set_policy, body)
    return model_response(policy, 201 if created else 200)


@router.delete("/policies", status_code=204)
async def remove_policy(key_pattern: PatternQuery, api: ApiDep) -> Response:
    """Remove the policy of `key_pattern` (404 when it has none)."""
    await api.write(ops.remove_policy, key_pattern)
    return empty()
