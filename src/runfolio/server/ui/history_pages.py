"""The pages and downloads of a key's history (data functions in `history.py`).

    /artifacts/key/{key}/compare?from=&to=&key_column=   two versions compared (+ JSON twin)
    /artifacts/key/{key}/trends                          its numbers over versions (+ JSON twin)
    /artifacts/key/{key}/history.zip                     every version, and a manifest
    /artifacts/{id}/download?format=md|csv|json          one version as a file

All are reads: the caller needs the read role in the workspace the pages show.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from starlette.responses import Response, StreamingResponse

from runfolio.server.ui import history, urls
from runfolio.server.ui.site import PageApi, PageApiDep, Site
from runfolio.server.ui.templating import SECURITY_HEADERS

site = Site()

# What a version may be, in the document too: a timeline number or an artifact id.
VERSION_RULE = (
    r"^\s*([0-9]{1,100}|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
    r"[0-9a-fA-F]{12})\s*$"
)
VersionParam = Annotated[str | None, Query(description=history.VERSION_HELP, pattern=VERSION_RULE)]
FromParam = Annotated[
    str | None, Query(alias="from", description=history.VERSION_HELP, pattern=VERSION_RULE)
]
KeyColumnParam = Annotated[
    str | None,
    Query(description="The column whose cells match table rows (default: the first column)."),
]
FormatParam = Annotated[
    str | None, Query(description="md, csv or json (default: the artifact's natural format).")
]


def _missing(key: str, **_: object) -> str:
    return f"There is no artifact with the key “{key}”, or it has no such version."


@site.page(urls.ARTIFACT_KEY_COMPARE, template="compare.html", nav="artifacts", missing=_missing)
async def compare(
    api: PageApi,
    key: str,
    from_: FromParam = None,
    to: VersionParam = None,
    key_column: KeyColumnParam = None,
) -> history.ComparePage:
    """Two versions of a key compared (default: the latest against the one before)."""
    return await api.read(history.compare_page, key, from_=from_, to=to, key_column=key_column)


@site.page(urls.ARTIFACT_KEY_TRENDS, template="trends.html", nav="artifacts", missing=_missing)
async def trends(api: PageApi, key: str) -> history.TrendsPage:
    """The numbers of a key's newest versions, as series and a chart."""
    return await api.read(history.trends_page, key)


def _attachment(filename: str) -> dict[str, str]:
    # The names are made of [A-Za-z0-9._-] only (export.safe_stem): nothing to quote.
    return {"Content-Disposition": f'attachment; filename="{filename}"', **SECURITY_HEADERS}


@site.html.get(urls.ARTIFACT_DOWNLOAD)
async def artifact_download(
    artifact_id: uuid.UUID, api: PageApiDep, format: FormatParam = None
) -> Response:
    """One artifact version as a file, in its natural format or the one asked for."""
    found = await api.read(history.download, artifact_id, format)
    return StreamingResponse(
        found.chunks, media_type=found.media_type, headers=_attachment(found.filename)
    )


@site.html.get(urls.ARTIFACT_KEY_ARCHIVE)
async def key_archive(key: str, api: PageApiDep) -> Response:
    """Every version of a key in one zip (one file per version and a manifest.json)."""
    filename, chunks = await api.read(history.key_archive, key)
    return StreamingResponse(chunks, media_type="application/zip", headers=_attachment(filename))
