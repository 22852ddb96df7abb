import pytest

from runfolio._version import __version__
from runfolio.cli.reference import command_paths
from tests.cli.helpers import Invoke


def test_version(cli: Invoke) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"runfolio {__version__}\n"


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "runfolio")
def test_every_command_has_help_with_an_example(cli: Invoke, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: runfolio" in result.stdout
    assert "Example" in result.stdout


def test_the_expected_commands_exist() -> None:
    leaves = {p for p in command_paths() if len(p) == 2}
    assert leaves == {
        ("artifact", "ls"),
        ("artifact", "inspect"),
        ("artifact", "delete"),
        ("db", "current"),
        ("db", "upgrade"),
        ("db", "copy"),
        ("flow-run", "ls"),
        ("flow-run", "inspect"),
        ("server", "start"),
        ("workspace", "create"),
        ("workspace", "ls"),
        ("user", "create"),
        ("user", "ls"),
        ("user", "set-role"),
        ("user", "disable"),
        ("user", "enable"),
        ("user", "set-password"),
        ("key", "create"),
        ("key", "ls"),
        ("key", "revoke"),
        ("outbox", "status"),
        ("outbox", "flush"),
        ("outbox", "drop"),
        ("artifact", "diff"),
        ("artifact", "export"),
        ("retention", "set"),
        ("retention", "ls"),
        ("retention", "rm"),
        ("webhook", "create"),
        ("webhook", "ls"),
        ("webhook", "rm"),
        ("webhook", "test"),
        ("webhook", "deliveries"),
    }
