"""`runfolio webhook ...` on the database itself (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from runfolio.client import RunfolioClient
from tests.cli.helpers import Invoke, add, assert_failed

RULE = '{"kind": "markdown_contains", "text": "FAILED"}'


def _listed(cli: Invoke) -> list[dict[str, object]]:
    result = cli("webhook", "ls", "-o", "json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_create_list_test_deliveries_and_rm(cli: Invoke, store: RunfolioClient) -> None:
    made = cli(
        "webhook", "create", "alerts", "https://hooks.example.com/x",
        "-e", "artifact.created", "-t", "markdown", "--rule", RULE, "-o", "json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    hook = json.loads(made.stdout)
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["artifact.created"]
    assert hook["rule"] == json.loads(RULE) and hook["artifact_types"] == ["markdown"]
    (listed,) = _listed(cli)
    assert listed["id"] == hook["id"] and "secret" not in listed
    table = cli("webhook", "ls")
    assert "alerts" in table.stdout and hook["secret"] not in table.stdout

    add(store, data="all good")  # the rule does not hold: nothing queued
    add(store, data="tests FAILED")
    queued = cli("webhook", "test", hook["id"])
    assert queued.exit_code == 0 and "Queued test event" in queued.stdout
    log = cli("webhook", "deliveries", hook["id"], "-o", "json")
    assert log.exit_code == 0, log.output
    events = [d["event"] for d in json.loads(log.stdout)]
    assert events == ["webhook.test", "artifact.created"]  # newest first
    assert all(d["status"] == "pending" for d in json.loads(log.stdout))  # no server runs
    assert "webhook.test" in cli("webhook", "deliveries", hook["id"]).stdout

    removed = cli("webhook", "rm", hook["id"])
    assert removed.exit_code == 0, removed.output
    assert _listed(cli) == []
    assert_failed(cli("webhook", "deliveries", hook["id"]))


def test_bad_input_exits_1_and_creates_nothing(cli: Invoke) -> None:
    for args, words in (
        (("bad", "ftp://example.com/x"), "http:// or https://"),
        (("bad", "https://example.com", "-e", "artifact.exploded"), "--event"),
        (("bad", "https://example.com", "--rule", "{nope"), "not JSON"),
        (("bad", "https://example.com", "--rule", '{"kind": "sky"}'), "rule"),
        (("bad", "https://example.com", "-w", "acme/missing"), "acme/missing"),
    ):
        result = cli("webhook", "create", *args)
        assert_failed(result)
        assert words in result.stderr, result.stderr
    assert _listed(cli) == []
    assert_failed(cli("webhook", "rm", "not-a-uuid"))
    assert_failed(cli("webhook", "test", "01a227f9-bb37-70ab-aa96-28e7655597f7"))
