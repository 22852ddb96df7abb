"""Chart (Vega-Lite) and HTML artifacts, published through `runfolio.artifacts`.

A chart artifact stores its Vega-Lite (or Vega) spec as a JSON object, so the UI
draws it and an API reader gets the spec back unchanged. An HTML artifact stores
a document the UI shows in a sandboxed frame, never in its own pages.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import OrderedDict
from typing import Any, ClassVar

from pydantic import field_validator

from runfolio import _encoding
from runfolio._artifacts import Artifact, _client
from runfolio._dispatch import dual as _dual
from runfolio.client import RunfolioClient
from runfolio.schemas.artifacts import ArtifactUpdate

# Specs and documents are stored as one JSON value and sent whole on every update;
# past this size a page would also stall drawing them.
CHART_SPEC_MAX_BYTES = 2_000_000
HTML_MAX_BYTES = 2_000_000


def chart_spec(spec: Any) -> dict[str, Any]:
    """The spec as a plain JSON object: a dict, or an Altair chart (anything with a
    `to_dict()` returning one). NaN and infinities become null (JSON has neither).

    Raises TypeError for other values or values JSON cannot hold, ValueError when too big.
    """
    return _checked(spec)[0]


def _checked(spec: Any) -> tuple[dict[str, Any], str]:
    """`chart_spec(spec)` and its JSON text."""
    to_dict = getattr(spec, "to_dict", None)
    if not isinstance(spec, dict) and callable(to_dict):
        spec = to_dict()
    if not isinstance(spec, dict):
        raise TypeError(
            "chart spec must be a dict (a Vega-Lite spec) or an object with .to_dict() "
            f"such as an Altair chart; got {type(spec).__name__}"
        )
    plain: Any = spec
    try:  # most specs are plain JSON already: one pass, no copy
        text = json.dumps(plain, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):  # NaN, infinities or numpy scalars: a plain copy
        plain = _encoding._plain(spec)
        try:
            text = json.dumps(plain, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"chart spec is not JSON-serialisable: {exc}") from None
    size = len(text.encode())
    if size > CHART_SPEC_MAX_BYTES:
        raise ValueError(
            f"chart spec is {size:,} bytes as JSON; the limit is {CHART_SPEC_MAX_BYTES:,}"
        )
    return plain, text


def html_document(html: Any) -> str:
    """`html` if it is a string within the size limit (TypeError / ValueError otherwise)."""
    if not isinstance(html, str):
        raise TypeError(f"html must be a string; got {type(html).__name__}")
    size = len(html.encode(errors="surrogatepass"))
    if size > HTML_MAX_BYTES:
        raise ValueError(f"html is {size:,} bytes; the limit is {HTML_MAX_BYTES:,}")
    return html


class ChartArtifact(Artifact):
    _default_type: ClassVar[str | None] = "chart"
    spec: Any

    @field_validator("spec")
    @classmethod
    def _spec(cls, value: Any) -> dict[str, Any]:
        return chart_spec(value)

    def format(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.spec  # made plain by the validator
        return spec


class HtmlArtifact(Artifact):
    _default_type: ClassVar[str | None] = "html"
    html: str

    @field_validator("html", mode="before")
    @classmethod
    def _html(cls, value: Any) -> str:
        return html_document(value)

    def format(self) -> str:
        return self.html


# -- create -------------------------------------------------------------------------


async def acreate_chart_artifact(
    spec: Any, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a chart: a Vega-Lite spec (dict) or an Altair chart. Returns its id."""
    return (await ChartArtifact(key=key, description=description, spec=spec).acreate()).id


@_dual(acreate_chart_artifact)
def create_chart_artifact(
    spec: Any, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a chart: a Vega-Lite spec (dict) or an Altair chart. Returns its id."""
    return ChartArtifact(key=key, description=description, spec=spec)._create().id


async def acreate_html_artifact(
    html: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish an HTML document, shown in the UI in a sandboxed frame. Returns its id."""
    return (await HtmlArtifact(key=key, description=description, html=html).acreate()).id


@_dual(acreate_html_artifact)
def create_html_artifact(
    html: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish an HTML document, shown in the UI in a sandboxed frame. Returns its id."""
    return HtmlArtifact(key=key, description=description, html=html)._create().id


# -- update in place ----------------------------------------------------------------


class _Written:
    """The spec this process last wrote by appending, for a few charts, so the next
    append needs no read (and, like any write, queues in the outbox while the server is
    away); and one lock per chart, so this process's appends never lose each other's
    points. Another writer's change in between is overwritten: one writer per chart."""

    def __init__(self, size: int = 16) -> None:
        self._specs: OrderedDict[tuple[str, uuid.UUID], dict[str, Any]] = OrderedDict()
        self._locks: dict[uuid.UUID, threading.Lock] = {}
        self._guard = threading.Lock()
        self._size = size

    def lock(self, artifact_id: uuid.UUID) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(artifact_id, threading.Lock())

    def get(self, client: RunfolioClient, artifact_id: uuid.UUID) -> dict[str, Any] | None:
        with self._guard:
            return self._specs.get((client.target, artifact_id))

    def keep(self, client: RunfolioClient, artifact_id: uuid.UUID, spec: dict[str, Any]) -> None:
        with self._guard:
            self._specs[(client.target, artifact_id)] = spec
            self._specs.move_to_end((client.target, artifact_id))
            while len(self._specs) > self._size:
                self._specs.popitem(last=False)

    def forget(self, client: RunfolioClient, artifact_id: uuid.UUID) -> None:
        with self._guard:
            self._specs.pop((client.target, artifact_id), None)


_written = _Written()


def _update(
    artifact_id: uuid.UUID, spec: Any, description: str | None, client: RunfolioClient | None
) -> uuid.UUID:
    data = chart_spec(spec)
    update = (
        ArtifactUpdate(data=data, description=description)
        if description
        else ArtifactUpdate(data=data)
    )
    target = _client(client)
    with _written.lock(artifact_id):
        _written.forget(target, artifact_id)  # the next append reads what this wrote
        target.update_artifact(artifact_id, update)
    return artifact_id


async def aupdate_chart_artifact(
    artifact_id: uuid.UUID,
    spec: Any,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Replace a chart's spec in place (no new version). Returns `artifact_id`."""
    return await asyncio.to_thread(_update, artifact_id, spec, description, client)


@_dual(aupdate_chart_artifact)
def update_chart_artifact(
    artifact_id: uuid.UUID,
    spec: Any,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Replace a chart's spec in place (no new version). Returns `artifact_id`."""
    return _update(artifact_id, spec, description, client)


def _rows(values: Any) -> list[Any]:
    """The points as a list of plain dicts of their own (later changes to the caller's
    dicts do not reach the kept spec; NaN becomes null)."""
    if isinstance(values, dict):
        values = [values]
    if isinstance(values, list | tuple) and all(isinstance(v, dict) for v in values):
        rows: list[Any] = _encoding._plain(list(values))
        return rows
    raise TypeError("values must be a dict (one data point) or a list of dicts")


def with_values(spec: Any, rows: list[Any], dataset: str | None = None) -> dict[str, Any]:
    """`spec` (changed in place) with `rows` added to its inline data (`data.values`), or
    to the top-level dataset `datasets[dataset]` (made when missing)."""
    if not isinstance(spec, dict):
        raise ValueError("the artifact's data is not a chart spec (a JSON object)")
    if dataset is not None:
        datasets = spec.setdefault("datasets", {})
        if not isinstance(datasets, dict):
            raise ValueError("the chart's `datasets` is not an object")
        current = datasets.setdefault(dataset, [])
    else:
        data = spec.setdefault("data", {"values": []})
        if not isinstance(data, dict) or ("values" not in data and data):
            raise ValueError(
                "the chart's `data` is not inline values (it names a dataset or a URL); "
                "pass dataset=<name> to append to a named dataset"
            )
        current = data.setdefault("values", [])
    if not isinstance(current, list):
        raise ValueError("the chart's values to append to are not a list")
    current.extend(rows)
    return chart_spec(spec)


def _append(
    artifact_id: uuid.UUID, values: Any, dataset: str | None, client: RunfolioClient | None
) -> uuid.UUID:
    target = _client(client)
    rows = _rows(values)  # refuse bad values before reading anything
    with _written.lock(artifact_id):
        spec = _written.get(target, artifact_id)
        _written.forget(target, artifact_id)  # kept again only once written
        if spec is None:
            found = target.read_artifact(artifact_id)
            if found.type != "chart":
                raise ValueError(f"artifact {artifact_id} is of type {found.type!r}, not 'chart'")
            spec = found.data
        spec = with_values(spec, rows, dataset)
        target.update_artifact(artifact_id, ArtifactUpdate(data=spec))
        _written.keep(target, artifact_id, spec)
    return artifact_id


async def aappend_chart_values(
    artifact_id: uuid.UUID,
    values: Any,
    dataset: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Add data points to a chart in place (see `append_chart_values`)."""
    return await asyncio.to_thread(_append, artifact_id, values, dataset, client)


@_dual(aappend_chart_values)
def append_chart_values(
    artifact_id: uuid.UUID,
    values: Any,
    dataset: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Add data points (a dict or a list of dicts) to a chart in place: to its inline
    `data.values`, or to the top-level dataset `dataset`. Returns `artifact_id`.

    The whole spec is written each time. The first append in a process reads it; later
    ones start from what this process wrote (so, while the server is away, they queue
    like any write), and appends from this process's threads never lose each other's
    points. A change made elsewhere in between is overwritten: one writer per chart.
    """
    return _append(artifact_id, values, dataset, client)
