"""Content rules, filters, target checks and signatures of webhooks, as plain functions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from runfolio.schemas.webhooks import URL_PATTERN, check_url, private_host
from runfolio.store.webhook_rules import concerns, rule_holds
from runfolio.webhook_signature import sign, verify

RECORDS = [{"epoch": 1, "accuracy": 0.95, "name": "a"}, {"epoch": 2, "accuracy": 0.85}]
COLUMNS = {"epoch": [1, 2], "accuracy": [0.95, 0.85]}
ROWS = [[1, 0.95], [2, 0.85]]


@pytest.mark.parametrize("data", [RECORDS, COLUMNS, json.dumps(RECORDS), json.dumps(COLUMNS)])
def test_table_cell_reads_every_table_shape(data: Any) -> None:
    below = {"kind": "table_cell", "column": "accuracy", "row": -1, "op": "<", "value": 0.9}
    assert rule_holds(below, "table", data)
    assert not rule_holds({**below, "row": 0}, "table", data)
    assert not rule_holds({**below, "column": "missing"}, "table", data)
    assert not rule_holds({**below, "row": 5}, "table", data)
    assert not rule_holds(below, "markdown", data)  # a table rule needs a table


def test_table_cell_by_position_text_and_every_operator() -> None:
    cell = {"kind": "table_cell", "column": 1, "row": 1}
    assert rule_holds({**cell, "op": "<=", "value": 0.85}, "table", ROWS)
    assert rule_holds({**cell, "op": ">=", "value": 0.85}, "table", ROWS)
    assert rule_holds({**cell, "op": "==", "value": 0.85}, "table", ROWS)
    assert not rule_holds({**cell, "op": "!=", "value": 0.85}, "table", ROWS)
    assert rule_holds({**cell, "op": ">", "value": 0.5}, "table", ROWS)
    named = {"kind": "table_cell", "column": "name", "row": 0, "op": "==", "value": "a"}
    assert rule_holds(named, "table", RECORDS)
    # A number compared with text that is not a number: no match, never an error.
    assert not rule_holds({**named, "op": "<", "value": 3}, "table", RECORDS)
    assert not rule_holds(named, "table", "not json")


def test_progress_and_markdown_rules() -> None:
    done = {"kind": "progress_at_least", "value": 100}
    assert rule_holds(done, "progress", 100) and rule_holds(done, "progress", 100.0)
    assert not rule_holds(done, "progress", 99.5) and not rule_holds(done, "progress", True)
    assert not rule_holds(done, "table", 100)
    failed = {"kind": "markdown_contains", "text": "FAILED"}
    assert rule_holds(failed, "markdown", "# Run\n3 tests FAILED")
    assert not rule_holds(failed, "markdown", "failed") and not rule_holds(failed, "markdown", 3)


def _hook(**fields: Any) -> dict[str, Any]:
    base = {
        "events": ["artifact.created", "artifact.updated"],
        "key_pattern": None,
        "artifact_types": None,
        "rule": None,
    }
    return {**base, **fields}


def test_concerns_events_pattern_types_and_edges() -> None:
    assert concerns(_hook(), "artifact.created", None, "markdown", "x")
    assert not concerns(_hook(), "artifact.deleted", None, "markdown", "x")
    pattern = _hook(key_pattern="train-*")
    assert concerns(pattern, "artifact.created", "train-1", None, None)
    assert not concerns(pattern, "artifact.created", "eval-1", None, None)
    assert not concerns(pattern, "artifact.created", None, None, None)
    typed = _hook(artifact_types=["table"])
    assert not concerns(typed, "artifact.created", "k", "markdown", "x")
    done = _hook(rule={"kind": "progress_at_least", "value": 100})
    assert concerns(done, "artifact.updated", "k", "progress", 100, before=50, had_before=True)
    # It held before the update already: no second call.
    assert not concerns(done, "artifact.updated", "k", "progress", 100, 100, had_before=True)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8000/x", "127.0.0.1"),
        ("http://localhost/x", "localhost"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://[::1]:80/", "::1"),
        ("https://hooks.example.com/x", None),
        ("https://8.8.8.8/x", None),
    ],
)
def test_private_hosts(url: str, host: str | None) -> None:
    assert private_host(url) == host


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com", "example.com/x", "http:///path", "http://a b.com", "http://h:99999"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)
    assert not re.fullmatch(URL_PATTERN, url)  # the document says so too


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "https://hooks.example.com/a/b?c=d#e", "http://h:65535"]
)
def test_good_urls(url: str) -> None:
    assert check_url(url) == url and re.fullmatch(URL_PATTERN, url)


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"id":"1"}'
    header = sign("whsec_s", body, timestamp=1_000_000)
    assert verify("whsec_s", header, body, now=1_000_100) == 1_000_000
    for secret, text, now in (
        ("whsec_other", body, 1_000_000),
        ("whsec_s", body + b" ", 1_000_000),
        ("whsec_s", body, 1_000_301),
    ):
        with pytest.raises(ValueError):
            verify(secret, header, text, now=now)
    with pytest.raises(ValueError, match="malformed"):
        verify("whsec_s", "garbage", body)
