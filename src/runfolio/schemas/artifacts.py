"""Artifact objects and the actions that create and update them."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from runfolio.schemas.common import ActionModel, InputDateTime, ObjectModel, ServerTime

KEY_RULE = "Artifact key must only contain lowercase letters, numbers, and dashes."
_KEY_PATTERN = re.compile(r"[a-z0-9-]+")
METADATA_VALUE_MAX = 500
# The columns' sizes (and, for descriptions, what a page can sensibly show).
KEY_MAX = 1000
TYPE_MAX = 200
DESCRIPTION_MAX = 100_000
# The key rule as JSON Schema states it, so the OpenAPI document carries it.
KEY_PATTERN = "^[a-z0-9-]+$"
KNOWN_TYPES = ("markdown", "table", "progress", "image", "chart", "html")


def validate_key(key: str | None) -> str | None:
    """Check an artifact key: lowercase letters, digits and dashes, at least one.

    Unlike the protocol we follow, an empty key and a trailing newline are refused.
    """
    if key is None:
        return None
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise ValueError(KEY_RULE)
    return key


def truncate_metadata(metadata: dict[str, str] | None) -> dict[str, str] | None:
    """Cut every value longer than 500 characters to 500 plus `...`."""
    if metadata is None:
        return None
    return {
        k: (v[:METADATA_VALUE_MAX] + "..." if len(v) > METADATA_VALUE_MAX else v)
        for k, v in metadata.items()
    }


def _is_table_shape(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(col, list) for col in value.values())
    if isinstance(value, list):
        return all(isinstance(row, dict) for row in value) or all(
            isinstance(row, list) for row in value
        )
    return False


def parse_table(data: Any) -> Any:
    """Return the table structure held by table `data` (a JSON string or a structure).

    The JSON string form may contain the non-standard `Infinity`/`NaN` tokens
    that some clients write; Python's parser reads them.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValueError(f"table data is a string but not JSON: {exc}") from None
    if not _is_table_shape(data):
        raise ValueError(
            "table data must be a list of objects, an object of lists or a list of lists "
            "(or a JSON string of one)"
        )
    return data


def check_data_for_type(type_: str | None, data: Any) -> None:
    """Refuse data whose shape does not fit a known artifact type (with
    `RUNFOLIO_STRICT_ARTIFACT_DATA`; by default any JSON is stored for any type, as
    the protocol's server does).

    Unknown types are stored as they come; null data is accepted for any type.
    """
    if data is None or type_ not in KNOWN_TYPES:
        return
    if type_ in ("markdown", "image", "html"):
        if not isinstance(data, str):
            raise ValueError(f"{type_} data must be a string")
    elif type_ == "chart":
        if not isinstance(data, dict):
            raise ValueError("chart data must be a Vega-Lite spec (a JSON object)")
    elif type_ == "table":
        parse_table(data)
    elif type_ == "progress":
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValueError("progress data must be a number between 0 and 100")
        if math.isnan(data) or not 0 <= data <= 100:
            raise ValueError("progress data must be a number between 0 and 100")


class Artifact(ObjectModel):
    """One version of an artifact."""

    id: uuid.UUID
    created: ServerTime
    updated: ServerTime
    key: str | None = None
    type: str | None = None
    description: str | None = None
    data: Any = None
    metadata_: dict[str, str] | None = None
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None


class ArtifactCollection(ObjectModel):
    """The latest version of one key (the key's own row, with `latest_id`)."""

    id: uuid.UUID
    created: ServerTime
    updated: ServerTime
    key: str
    latest_id: uuid.UUID
    type: str | None = None
    description: str | None = None
    data: Any = None
    metadata_: dict[str, str] | None = None
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None


class ArtifactContent(BaseModel):
    """What a client says about an artifact, declared once: the API's create body and the
    SDK's `Artifact` are both made of it."""

    key: str | None = Field(
        default=None, max_length=KEY_MAX, json_schema_extra={"pattern": KEY_PATTERN}
    )
    type: str | None = Field(default=None, max_length=TYPE_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    data: Any = None
    metadata_: dict[str, str] | None = None
    flow_run_id: uuid.UUID | None = None
    task_run_id: uuid.UUID | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return validate_key(value)

    @field_validator("metadata_")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return truncate_metadata(value)


class ArtifactCreate(ArtifactContent, ActionModel):
    """Body of `POST /artifacts/`. `id` may be chosen by the client (idempotent retry)."""

    id: uuid.UUID | None = None
    created: InputDateTime | None = Field(
        default=None,
        description="runfolio extension: when the version was made, for a create delivered "
        "late (runfolio's client outbox sends it); a time after the server's clock is taken "
        "as now. The key's latest stays the version made last. Default: now.",
    )


class ArtifactUpdate(ActionModel):
    """Body of `PATCH /artifacts/{id}`: only the fields present are written."""

    data: Any = None
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    metadata_: dict[str, str] | None = Field(default=None)

    @field_validator("metadata_")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return truncate_metadata(value)
