"""Query parameters of the pages and their JSON twins, read the same way by both.

Pages are forgiving: a value that makes no sense falls back to the default
instead of failing (a hand-edited URL still shows a page).
"""

from __future__ import annotations

import re
import uuid

from runfolio.errors import Invalid
from runfolio.schemas.sorting import ArtifactSort
from runfolio.server.ui.models import RUN_STATES

MAX_LIVE_IDS = 200
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# What `id_list` takes, as the OpenAPI document declares it: ids as `urls.live` writes them.
ID_LIST_PATTERN = f"^({_UUID}(,{_UUID}){{0,{MAX_LIVE_IDS - 1}}})?$"
_ID_LIST = re.compile(ID_LIST_PATTERN)


def page_number(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1


def artifact_sort(value: str | None) -> ArtifactSort:
    try:
        return ArtifactSort((value or "").upper())
    except ValueError:
        return ArtifactSort.UPDATED_DESC


def artifact_type(value: str | None) -> str | None:
    return (value or "").strip() or None


def run_state(value: str | None) -> str | None:
    value = (value or "").upper()
    return value if value in RUN_STATES else None


def version_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def id_list(value: str | None, name: str) -> list[uuid.UUID]:
    """A comma-separated list of ids (the live endpoint's parameters)."""
    if not value:
        return []
    parts = value.split(",")
    if len(parts) > MAX_LIVE_IDS:
        raise Invalid.field(("query", name), f"at most {MAX_LIVE_IDS} ids", value)
    if not _ID_LIST.fullmatch(value):
        raise Invalid.field(("query", name), "must be comma-separated UUIDs", value)
    return [uuid.UUID(p) for p in parts]
