import json
import uuid

import pytest

from runfolio.client import RunfolioClient
from runfolio.errors import NotFound
from runfolio.schemas.bodies import ArtifactCountBody
from tests.cli.helpers import Invoke, add, assert_failed


def count(store: RunfolioClient) -> int:
    return store.count_artifacts(ArtifactCountBody())


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "Y\n"])
def test_key_deletes_every_version_after_yes(
    cli: Invoke, store: RunfolioClient, answer: str
) -> None:
    for _ in range(3):
        add(store, "report")
    add(store, "keep")

    result = cli("artifact", "delete", "report", input=answer)

    assert result.exit_code == 0, result.output
    assert "Are you sure you want to delete 3 artifact(s) with key 'report'? [y/N]" in (
        result.stderr
    )
    assert "Deleted 3 artifact(s) with key 'report'." in result.stdout
    assert count(store) == 1
    with pytest.raises(NotFound):
        store.read_latest_artifact("report")


@pytest.mark.parametrize("answer", ["n\n", "\n", "no\n", None], ids=["n", "enter", "no", "eof"])
def test_declined_or_unanswered_prompt_deletes_nothing(
    cli: Invoke, store: RunfolioClient, answer: str | None
) -> None:
    add(store, "report")
    add(store, "report")

    result = cli("artifact", "delete", "report", input=answer)

    assert_failed(result)
    assert "Deletion aborted." in result.stderr
    assert count(store) == 2


def test_yes_skips_the_prompt(cli: Invoke, store: RunfolioClient) -> None:
    add(store, "report")
    for flag in ("--yes", "-y"):
        add(store, "report")
        result = cli("artifact", "delete", "report", flag)
        assert result.exit_code == 0, result.output
        assert "Are you sure" not in result.output
        assert count(store) == 0


def test_key_with_more_versions_than_one_page(cli: Invoke, store: RunfolioClient) -> None:
    for i in range(230):
        add(store, "big", data=f"# {i}")

    result = cli("artifact", "delete", "big", "--yes")

    assert result.exit_code == 0, result.output
    assert "Deleted 230 artifact(s) with key 'big'." in result.stdout
    assert count(store) == 0


def test_key_pages_follow_a_smaller_server_limit(cli: Invoke, store: RunfolioClient) -> None:
    for i in range(120):
        add(store, "big", data=f"# {i}")

    result = cli("artifact", "delete", "big", "--yes", env={"RUNFOLIO_DEFAULT_LIMIT": "50"})

    assert result.exit_code == 0, result.output
    assert "Deleted 120 artifact(s) with key 'big'." in result.stdout
    assert count(store) == 0


def test_id_deletes_that_version_only(cli: Invoke, store: RunfolioClient) -> None:
    old = add(store, "report", data="# old")
    new = add(store, "report", data="# new")

    result = cli("artifact", "delete", "--id", str(new.id), input="y\n")

    assert result.exit_code == 0, result.output
    assert f"Are you sure you want to delete artifact with id '{new.id}'" in result.stderr
    assert f"Deleted artifact with id '{new.id}'." in result.stdout
    assert store.read_latest_artifact("report").id == old.id  # the key falls back
    listed = json.loads(cli("artifact", "ls", "-o", "json").stdout)
    assert [row["latest_id"] for row in listed] == [str(old.id)]


def test_id_declined_deletes_nothing(cli: Invoke, store: RunfolioClient) -> None:
    artifact = add(store, None)
    result = cli("artifact", "delete", "--id", str(artifact.id), input="n\n")
    assert_failed(result)
    assert "Deletion aborted." in result.stderr
    assert store.read_artifact(artifact.id).id == artifact.id


def test_unknown_key_fails(cli: Invoke) -> None:
    result = cli("artifact", "delete", "nope", "--yes")
    assert_failed(result)
    assert "Artifact with key 'nope' not found." in result.stderr


def test_unknown_id_fails_before_asking(cli: Invoke) -> None:
    missing = uuid.uuid4()
    result = cli("artifact", "delete", "--id", str(missing), input="y\n")
    assert_failed(result)
    assert f"Artifact with id '{missing}' not found." in result.stderr
    assert "Are you sure" not in result.output


def test_id_that_is_not_a_uuid_fails(cli: Invoke) -> None:
    result = cli("artifact", "delete", "--id", "not-a-uuid", "--yes")
    assert_failed(result)
    assert "Invalid artifact id 'not-a-uuid': not a UUID." in result.stderr


def test_neither_or_both_arguments_fail(cli: Invoke, store: RunfolioClient) -> None:
    artifact = add(store, "report")
    neither = cli("artifact", "delete", "--yes")
    assert_failed(neither)
    assert "Please provide a key or an artifact id (--id)." in neither.stderr
    both = cli("artifact", "delete", "report", "--id", str(artifact.id), "--yes")
    assert_failed(both)
    assert "not both" in both.stderr
    assert count(store) == 1
