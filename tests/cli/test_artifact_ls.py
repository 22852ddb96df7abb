import datetime as dt
import json

import pytest

from runfolio.client import RunfolioClient
from tests.cli.helpers import Invoke, add, assert_failed


def test_empty_store_says_so(cli: Invoke) -> None:
    result = cli("artifact", "ls")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No artifact keys found."


def test_lists_the_latest_version_of_each_key_sorted_by_key(
    cli: Invoke, store: RunfolioClient
) -> None:
    add(store, "zebra", description="last one")
    add(store, "alpha", description="old version")
    latest = add(
        store, "alpha", description="First line of it\nsecond line", type="table", data=[{"a": 1}]
    )
    add(store, None, description="keyless is not a key")

    result = cli("artifact", "ls")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Artifacts" in out
    for header in ("ID", "Key", "Type", "Updated (UTC)", "Description"):
        assert header in out
    lines = [line for line in out.splitlines() if "alpha" in line or "zebra" in line]
    assert [("alpha" in line) for line in lines] == [True, False]
    assert str(latest.id) in lines[0]  # the id of the latest version, not the key's row
    assert "table" in lines[0]
    assert "First line of it …" in lines[0]
    assert "old version" not in out
    assert "keyless" not in out
    assert "just now" in out
    assert latest.updated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") in out


def test_all_lists_every_version_including_keyless(cli: Invoke, store: RunfolioClient) -> None:
    v1 = add(store, "report", data="# v1")
    v2 = add(store, "report", data="# v2")
    keyless = add(store, None, type="progress", data=50.0)

    result = cli("artifact", "ls", "--all")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Artifacts (all versions)" in out
    assert "(no key)" in out
    positions = [out.index(str(a.id)) for a in (keyless, v2, v1)]
    assert positions == sorted(positions)  # keyless first, then newest version first


def test_json_output_is_compact_and_complete(cli: Invoke, store: RunfolioClient) -> None:
    first = add(store, "b-key", description="d")
    add(store, "a-key")

    result = cli("artifact", "ls", "--output", "json")

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    rows = json.loads(result.stdout)
    assert [row["key"] for row in rows] == ["a-key", "b-key"]
    assert rows[1]["latest_id"] == str(first.id)
    assert rows[1]["description"] == "d"

    all_rows = json.loads(cli("artifact", "ls", "-a", "-o", "JSON").stdout)
    assert {row["id"] for row in all_rows} >= {str(first.id)}
    assert "latest_id" not in all_rows[0]


def test_user_text_is_shown_verbatim_not_as_markup(cli: Invoke, store: RunfolioClient) -> None:
    add(store, "k", description="[bold]loud[/bold] [/oops] [link](https://x.y)")
    result = cli("artifact", "ls")
    assert result.exit_code == 0, result.output
    assert "[bold]loud[/bold] [/oops] [link](https://x.y)" in result.stdout


def test_keyless_rows_in_json_with_all(cli: Invoke, store: RunfolioClient) -> None:
    add(store, None)
    add(store, "k")
    rows = json.loads(cli("artifact", "ls", "--all", "-o", "json").stdout)
    assert [row["key"] for row in rows] == [None, "k"]


def test_limit_caps_rows_and_says_how_many_exist(cli: Invoke, store: RunfolioClient) -> None:
    for key in ("a", "b", "c"):
        add(store, key)

    result = cli("artifact", "ls", "--limit", "2")

    assert result.exit_code == 0, result.output
    assert " c " not in result.stdout
    assert "Showing 2 of 3 artifact keys" in result.stderr
    assert len(json.loads(cli("artifact", "ls", "--limit", "2", "-o", "json").stdout)) == 2


def test_limit_beyond_one_page_fetches_every_page(cli: Invoke, store: RunfolioClient) -> None:
    for i in range(205):
        add(store, None, data=f"v{i}")
    rows = json.loads(cli("artifact", "ls", "--all", "--limit", "300", "-o", "json").stdout)
    assert len(rows) == 205
    assert len({row["id"] for row in rows}) == 205


@pytest.mark.parametrize("value", ["0", "-3", "10001", "many"])
def test_bad_limit_is_a_usage_error(cli: Invoke, value: str) -> None:
    result = cli("artifact", "ls", "--limit", value)
    assert_failed(result, code=2)
    assert "--limit" in result.output


def test_only_json_output_is_supported(cli: Invoke) -> None:
    result = cli("artifact", "ls", "-o", "yaml")
    assert_failed(result)
    assert "Only 'json' output format is supported." in result.stderr
