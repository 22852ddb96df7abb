"""The artifact a flow run's persisted result implies.

When a flow run enters a state that carries result data (a client that persists
results sends where the result is stored as `state.data`), the protocol records
that data as an artifact of the run too: keyless and typeless unless the data
names them in its `artifact_key`, `artifact_type` and `artifact_description`
entries, which are taken out of the stored data. Data that is null, or an
object whose `type` is `"unpersisted"`, records nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from runfolio.schemas.artifacts import Artifact, ArtifactCreate
from runfolio.store import artifacts

_NAMED = {"artifact_key": "key", "artifact_type": "type", "artifact_description": "description"}


def record_result_artifact(
    conn: Connection, workspace_id: uuid.UUID, flow_run_id: uuid.UUID, data: Any
) -> Artifact | None:
    """Store the result artifact `data` implies for the flow run; None when it implies none."""
    if data is None or (isinstance(data, dict) and data.get("type") == "unpersisted"):
        return None
    named: dict[str, Any] = {}
    if isinstance(data, dict):
        data = dict(data)
        named = {field: data.pop(entry) for entry, field in _NAMED.items() if entry in data}
    try:
        action = ArtifactCreate.model_validate({**named, "data": data, "flow_run_id": flow_run_id})
    except ValidationError:
        # A name that breaks the artifact rules (say, a key with capitals) must not
        # lose the run's state change: record the result without the names.
        action = ArtifactCreate(data=data, flow_run_id=flow_run_id)
    artifact, _ = artifacts.create(conn, workspace_id, action)
    return artifact
