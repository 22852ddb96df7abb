"""Chart (Vega-Lite) and HTML artifacts, published through `runfolio.artifacts`.

A chart artifact stores its Vega-Lite (or Vega) spec as a JSON object, so the UI
draws it and an API reader gets the spec back unchanged. An HTML artifact stores
a document the UI shows in a sandboxed frame, never in its own pages.
"""

from __future__ import annotations

import asyncio
import json
import uuid
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
    result: dict[str, Any] = plain
    return result


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


def _spec_update(spec: Any, description: str | None) -> ArtifactUpdate:
    data = chart_spec(spec)
    if description:
        return ArtifactUpdate(data=data, description=description)
    return ArtifactUpdate(data=data)


async def aupdate_chart_artifact(
    artifact_id: uuid.UUID,
    spec: Any,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Replace a chart's spec in place (no new version). Returns `artifact_id`."""
    update = _spec_update(spec, description)
    await asyncio.to_thread(_client(client).update_artifact, artifact_id, update)
    return artifact_id


@_dual(aupdate_chart_artifact)
def update_chart_artifact(
    artifact_id: uuid.UUID,
    spec: Any,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Replace a chart's spec in place (no new version). Returns `artifact_id`."""
    _client(client).update_artifact(artifact_id, _spec_update(spec, description))
    return artifact_id


def _rows(values: Any) -> list[Any]:
    if isinstance(values, dict):
        return [values]
    if isinstance(values, list | tuple) and all(isinstance(v, dict) for v in values):
        return list(values)
    raise TypeError("values must be a dict (one data point) or a list of dicts")


def with_values(spec: Any, values: Any, dataset: str | None = None) -> dict[str, Any]:
    """`spec` (changed in place: the artifact's data as just read) with `values` added to
    its inline data (`data.values`), or to the top-level dataset `datasets[dataset]`
    (made when missing)."""
    if not isinstance(spec, dict):
        raise ValueError("the artifact's data is not a chart spec (a JSON object)")
    rows = _rows(values)
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
    _rows(values)  # refuse bad values before reading anything
    found = target.read_artifact(artifact_id)
    if found.type != "chart":
        raise ValueError(f"artifact {artifact_id} is of type {found.type!r}, not 'chart'")
    target.update_artifact(
        artifact_id, ArtifactUpdate(data=with_values(found.data, values, dataset))
    )
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

    It reads the spec and writes it back whole: two writers appending to the same
    chart at once can lose one's points, so give each writer its own chart.
    """
    return _append(artifact_id, values, dataset, client)
