"""Numeric series across versions: progress, table cells, metadata; gaps stay gaps."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from runfolio.history.trends import VersionData, trend_series

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _v(n: int, type_: str | None, data: Any, metadata: dict[str, Any] | None = None) -> VersionData:
    return VersionData(uuid.uuid4(), n, T0 + dt.timedelta(minutes=n), type_, data, metadata)


def test_metrics_table_columns_become_series_with_gaps() -> None:
    versions = [
        _v(1, "table", json.dumps([{"acc": 0.5, "loss": 1.2, "name": "run"}])),
        _v(2, "table", json.dumps([{"acc": 0.7, "name": "run"}])),  # no loss: a gap
        _v(3, "table", json.dumps([{"acc": 0.8, "loss": 0.4}])),
        _v(4, "table", json.dumps([])),  # no rows: no numbers
    ]
    series = {s.name: s for s in trend_series(versions)}
    assert set(series) == {"acc", "loss"}  # text columns are not series
    assert [(p.number, p.value) for p in series["loss"].points] == [(1, 1.2), (3, 0.4)]
    assert [p.number for p in series["acc"].points] == [1, 2, 3]


def test_multi_row_table_uses_its_last_row_and_progress_and_metadata() -> None:
    rows = {"epoch": [1, 2, 3], "acc": [0.1, 0.2, 0.3]}
    versions = [
        _v(1, "table", rows, {"lr": "0.01", "note": "fast"}),
        _v(2, "progress", 50.0, {"lr": "nan"}),
        _v(3, "progress", None),
        _v(4, "progress", 100),
    ]
    series = {s.name: s for s in trend_series(versions)}
    assert [p.value for p in series["acc"].points] == [0.3]
    assert [p.value for p in series["epoch"].points] == [3.0]
    assert [(p.number, p.value) for p in series["progress"].points] == [(2, 50.0), (4, 100.0)]
    assert [p.value for p in series["metadata.lr"].points] == [0.01]  # "nan" is no number
    assert "metadata.note" not in series
