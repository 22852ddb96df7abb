import json

from runfolio.client import RunfolioClient
from tests.cli.helpers import Invoke, add, assert_failed


def test_pretty_json_newest_first_by_default(cli: Invoke, store: RunfolioClient) -> None:
    old = add(store, "report", data="# old", description="first")
    new = add(store, "report", data="# new", description="second")
    add(store, "other")

    result = cli("artifact", "inspect", "report")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[\n  {\n")  # indented, one field a line
    versions = json.loads(result.stdout)
    assert [v["id"] for v in versions] == [str(new.id), str(old.id)]
    assert versions[0]["data"] == "# new"
    assert set(versions[0]) == {
        "id",
        "created",
        "updated",
        "key",
        "type",
        "description",
        "data",
        "metadata_",
        "flow_run_id",
        "task_run_id",
    }


def test_output_json_is_compact(cli: Invoke, store: RunfolioClient) -> None:
    add(store, "report", type="progress", data=42.5)

    result = cli("artifact", "inspect", "report", "--output", "json")

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert '"data":42.5' in result.stdout
    assert json.loads(result.stdout)[0]["type"] == "progress"


def test_limit_shows_the_newest_and_says_how_many_exist(cli: Invoke, store: RunfolioClient) -> None:
    for i in range(3):
        last = add(store, "report", data=f"# v{i}")

    result = cli("artifact", "inspect", "report", "--limit", "1")

    assert result.exit_code == 0, result.output
    assert [v["id"] for v in json.loads(result.stdout)] == [str(last.id)]
    assert "Showing 1 of 3 versions" in result.stderr


def test_unknown_key_fails(cli: Invoke, store: RunfolioClient) -> None:
    add(store, "report")
    result = cli("artifact", "inspect", "nope")
    assert_failed(result)
    assert "Artifact 'nope' not found." in result.stderr
    assert result.stdout == ""


def test_bad_limit_and_missing_key_are_usage_errors(cli: Invoke) -> None:
    assert_failed(cli("artifact", "inspect", "report", "--limit", "0"), code=2)
    missing = cli("artifact", "inspect")
    assert_failed(missing, code=2)
    assert "Missing argument" in missing.output
