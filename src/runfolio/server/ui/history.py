"""A key's history in the UI: compare two versions, its trends, and downloads.

Data functions (run in a read thread, like `data.py`'s) behind the compare and
trends pages and their JSON twins (`history_pages.py`), the trends chart of the key
page, and the downloads. The comparing, series and file formats themselves are
`runfolio.history`'s, shared with the CLI.

Versions are named as on the key's timeline, by number (1 = the first), or by
artifact id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

from pydantic import BaseModel
from sqlalchemy import Connection

from runfolio.errors import Invalid, NotFound
from runfolio.history import export
from runfolio.history.diff import ArtifactDiff, diff_data
from runfolio.history.trends import TrendSeries, VersionData, trend_series
from runfolio.ops import Context
from runfolio.schemas.artifacts import Artifact
from runfolio.server.ui import stored, urls
from runfolio.server.ui.models import ArtifactView
from runfolio.server.ui.trend_chart import TrendChart, trend_chart
from runfolio.store import appends, views
from runfolio.store import history as history_store
from runfolio.store.views import VersionText

# The chart reads the newest versions only, and only data up to this size: a trend
# of table cells comes from small (metrics) tables, never from parsing megabytes.
TREND_VERSIONS = 200
KEY_PAGE_TREND_VERSIONS = 50  # the key page's compact chart; its trends page has more
TREND_DATA_CHARS = 64_000
MAX_VERSION_NUMBER = 2**62
CHOICES = 200  # versions offered in the compare form's lists (the newest)
VERSION_HELP = "a version number as on the timeline (1 = the first) or an artifact id"


class VersionChoice(BaseModel):
    number: int
    id: uuid.UUID
    created: dt.datetime


class CompareSide(BaseModel):
    number: int
    view: ArtifactView
    url: str  # the version on the key page
    download_url: str


class ComparePage(BaseModel):
    key: str
    before: CompareSide
    after: CompareSide
    diff: ArtifactDiff
    key_column: str | None  # as asked (the diff's own says which one was used)
    choices: list[VersionChoice]  # newest first
    versions_total: int


class TrendsPage(BaseModel):
    key: str
    versions_total: int
    series: list[TrendSeries]
    chart: TrendChart | None


# -- versions ---------------------------------------------------------------------------


def _decoded(version: VersionText) -> tuple[Artifact, ArtifactView]:
    artifact, text = version
    shown = stored.decode(artifact.type, text)
    full = artifact.model_copy(update={"data": shown.value})
    view = ArtifactView(
        artifact=full,
        kind=shown.kind,
        notice=shown.notice,
        data_text=shown.text,
        flow_run=None,
        task_run_name=None,
    )
    return full, view


def _resolve(conn: Connection, ws: uuid.UUID, key: str, spec: str, field: str) -> uuid.UUID:
    """The id of the version `spec` names (a timeline number or an id) of `key`."""
    spec = spec.strip()
    if spec.isascii() and spec.isdigit():  # not "²" or "١": int() refuses those
        number = int(spec)
        try:
            if number > MAX_VERSION_NUMBER:  # past any offset the database takes
                raise NotFound(spec)
            return history_store.version_at(conn, ws, key, number)
        except NotFound:
            raise NotFound(f"Artifact “{key}” has no version {spec}.") from None
    try:
        found = uuid.UUID(spec)
    except ValueError:
        raise Invalid.field(("query", field), f"must be {VERSION_HELP}", spec) from None
    return found


def _read(conn: Connection, ws: uuid.UUID, key: str, version_id: uuid.UUID) -> VersionText:
    try:
        version = views.read_version(conn, ws, version_id)
    except NotFound:
        raise NotFound(f"Artifact “{key}” has no version {version_id}.") from None
    if version.artifact.key != key:
        raise NotFound(f"Artifact “{key}” has no version {version_id}.")
    return version


def _previous(conn: Connection, ws: uuid.UUID, key: str, number: int) -> uuid.UUID:
    return history_store.version_at(conn, ws, key, max(number - 1, 1))


def _side(key: str, number: int, artifact: Artifact, view: ArtifactView) -> CompareSide:
    return CompareSide(
        number=number,
        view=view,
        url=urls.artifact_key(key, artifact.id),
        download_url=urls.artifact_download(artifact.id),
    )


def compare_page(
    ctx: Context,
    key: str,
    *,
    from_: str | None = None,
    to: str | None = None,
    key_column: str | None = None,
) -> ComparePage:
    """Two versions of `key` compared: `to` (default the latest) against `from_`
    (default the version before `to`)."""
    key_column = (key_column or "").strip() or None
    with ctx.reading() as (conn, ws):
        head = views.key_head(conn, ws, key)
        after_id = _resolve(conn, ws, key, to, "to") if to else head.latest_id
        after = _read(conn, ws, key, after_id)
        after_number = views.version_number(conn, ws, after.artifact)
        if from_:
            before = _read(conn, ws, key, _resolve(conn, ws, key, from_, "from"))
        else:
            before = _read(conn, ws, key, _previous(conn, ws, key, after_number))
        before_number = views.version_number(conn, ws, before.artifact)
        total = views.count_key_versions(conn, ws, key)
        recent = views.key_versions(conn, ws, key, limit=CHOICES)
    old, old_view = _decoded(before)
    new, new_view = _decoded(after)
    try:
        diff = diff_data(old.type, old.data, new.type, new.data, key_column=key_column)
    except Invalid as exc:  # located where the page takes it
        raise Invalid.field(("query", "key_column"), exc.errors[0]["msg"], key_column) from None
    choices = [
        VersionChoice(number=total - i, id=v.id, created=v.created) for i, v in enumerate(recent)
    ]
    listed = {c.number for c in choices}
    for number, side in ((after_number, new), (before_number, old)):  # older than the list
        if number not in listed:
            listed.add(number)
            choices.append(VersionChoice(number=number, id=side.id, created=side.created))
    return ComparePage(
        key=key,
        before=_side(key, before_number, old, old_view),
        after=_side(key, after_number, new, new_view),
        diff=diff,
        key_column=key_column,
        choices=choices,
        versions_total=total,
    )


# -- trends -----------------------------------------------------------------------------


def _series(
    conn: Connection, ws: uuid.UUID, key: str, limit: int = TREND_VERSIONS
) -> tuple[list[TrendSeries], list[int]]:
    found = history_store.recent_numbers(
        conn, ws, key, limit=limit, max_data_chars=TREND_DATA_CHARS
    )
    # Rows appended in place count as the table's (its last row is the newest one); a
    # table too large to read gives its appended rows alone, which end the same way.
    extra = appends.appended(conn, ws, (v.ref.id for v in found))
    versions = []
    for v in found:
        data = stored.value_of(v.data_text)
        if v.ref.id in extra:
            rows = extra[v.ref.id].rows
            data = appends.merged(data, rows) if v.data_text is not None else rows
        versions.append(
            VersionData(
                id=v.ref.id,
                number=v.ref.number,
                created=v.ref.created,
                type=v.ref.type,
                data=data,
                metadata=v.metadata,
            )
        )
    return trend_series(versions), [v.number for v in versions]


def key_trends(conn: Connection, ws: uuid.UUID, key: str, versions_total: int) -> TrendChart | None:
    """The key page's trends chart, or None when no series has two points."""
    series, numbers = _series(conn, ws, key, KEY_PAGE_TREND_VERSIONS)
    return trend_chart(key, series, numbers, versions_total)


def trends_page(ctx: Context, key: str) -> TrendsPage:
    """Every numeric series of `key`'s newest versions, and their chart."""
    with ctx.reading() as (conn, ws):
        views.key_head(conn, ws, key)
        total = views.count_key_versions(conn, ws, key)
        series, numbers = _series(conn, ws, key)
    chart = trend_chart(key, series, numbers, total)
    return TrendsPage(key=key, versions_total=total, series=series, chart=chart)


# -- downloads --------------------------------------------------------------------------


def download(ctx: Context, artifact_id: uuid.UUID, fmt: str | None) -> export.Download:
    """One version as a file, in `fmt` or its natural format."""
    with ctx.reading() as (conn, ws):
        try:
            version = views.read_version(conn, ws, artifact_id)
        except NotFound:
            raise NotFound(f"There is no artifact with the id {artifact_id}.") from None
    artifact, _ = _decoded(version)
    try:
        return export.download(artifact, fmt)
    except Invalid as exc:
        raise Invalid.field(("query", "format"), exc.errors[0]["msg"], fmt) from None


def key_archive(ctx: Context, key: str) -> tuple[str, Iterator[bytes]]:
    """The zip of every version of `key`: its file name, and its bytes as made.

    The versions are listed now (so a missing key is a 404 before anything is sent)
    and read one at a time while the archive streams, each in its own short read.
    """
    with ctx.reading() as (conn, ws):
        views.key_head(conn, ws, key)
        refs = history_store.version_refs(conn, ws, key)

    def versions() -> Iterator[export.Numbered]:
        for ref in refs:
            with ctx.reading() as (conn, ws):
                try:
                    version = views.read_version(conn, ws, ref.id)
                except NotFound:  # deleted since the listing: the manifest leaves it out
                    continue
            yield export.Numbered(ref.number, _decoded(version)[0])

    stem = export.safe_stem(Artifact.model_construct(id=refs[0].id, key=key))
    return f"{stem}-history.zip", export.history_zip(key, versions())
