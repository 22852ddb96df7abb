"""docs/cli.md is the generated reference: it must match the real --help output."""

from pathlib import Path

import pytest

from runfolio.cli.reference import command_paths, render, title

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
REGENERATE = "Regenerate it: python -m runfolio.cli.reference > docs/cli.md"


@pytest.fixture(scope="module")
def documented() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_command_is_documented(documented: str) -> None:
    missing = [title(p) for p in command_paths() if f"\n## {title(p)}\n" not in documented]
    assert not missing, f"docs/cli.md does not document {missing}. {REGENERATE}"


def test_reference_is_up_to_date(documented: str) -> None:
    assert render() == documented, f"docs/cli.md is out of date. {REGENERATE}"
