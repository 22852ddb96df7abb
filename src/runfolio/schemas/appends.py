"""Rows appended to a table artifact in place (a runfolio extension to the protocol)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from runfolio.schemas.common import ActionModel, ObjectModel

# Rows one append may carry: enough for any batch a run writes at once, small enough
# that one request stays a few megabytes.
MAX_ROWS_PER_APPEND = 10_000


class RowsAppend(ActionModel):
    """Body of `POST /artifacts/{id}/rows`: rows shaped like the table's own rows. `id`
    may be chosen by the client (idempotent retry)."""

    id: uuid.UUID | None = Field(
        default=None,
        description="Chosen by the client so a retry is stored once: an append whose id "
        "this artifact already has is answered as the first time and adds nothing; "
        "the same id with other rows is a 409.",
    )
    rows: list[Any] = Field(
        min_length=1,
        max_length=MAX_ROWS_PER_APPEND,
        description="Objects whose keys are the table's columns (a table of objects or of "
        "columns), or lists as long as its rows (a table of lists). At least one row, at "
        f"most {MAX_ROWS_PER_APPEND:,}.",
    )


class RowsAppended(ObjectModel):
    """What an append did. The table's total row count is not given: counting the rows it
    was made with would mean reading the whole table, which an append avoids."""

    artifact_id: uuid.UUID
    appended: int = Field(description="Rows this call added.")
    rows_appended: int = Field(
        description="Rows appended in place since the table's data was last set "
        "(by its create or a PATCH of `data`)."
    )
