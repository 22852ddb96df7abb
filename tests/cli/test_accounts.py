"""`runfolio workspace | user | key`: the admin commands on the database itself.

Each refusal is checked to change nothing (through the listings or the store), and
keys printed by the CLI are checked against the store's own key check.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from runfolio.ops.access import Role
from runfolio.schemas.common import utcnow
from runfolio.settings import Settings
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import api_keys, metadata
from tests.cli.helpers import Invoke, assert_failed
from tests.pg import sqlite_only

KEY = re.compile(r"rfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The store the CLI writes, opened by the test to check what it did."""
    engine = connect(settings.resolved_database_url())
    yield engine
    engine.dispose()


def listing(cli: Invoke, *args: str) -> Any:
    result = cli(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def add_user(cli: Invoke, name: str, *flags: str) -> None:
    result = cli("user", "create", name, "--password-stdin", *flags, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output


def new_key(cli: Invoke, *args: str) -> str:
    """Run `key create ARGS` and return the secret it printed (checked to be printed once
    as a key, then in the export line)."""
    result = cli("key", "create", *args)
    assert result.exit_code == 0, result.output
    found: list[str] = KEY.findall(result.stdout)
    assert len(found) == 2 and found[0] == found[1], result.stdout
    assert "will not be shown again" in result.stdout
    assert f"export RUNFOLIO_API_KEY={found[0]}" in result.stdout
    return found[0]


def grant_of(engine: Engine, secret: str) -> Role | None:
    """The role a presented key acts with, in its only workspace (None: not a live key)."""
    with read(engine) as conn:
        grant = accounts.principal_of_key(conn, secret)
    if grant is None:
        return None
    (role,) = grant.principal.grants.values()
    return role


@pytest.fixture
def team(cli: Invoke) -> str:
    """Workspace acme/team, an admin alice, and bob with the write role in it."""
    assert cli("workspace", "create", "acme/team").exit_code == 0
    add_user(cli, "alice", "--admin")
    add_user(cli, "bob")
    assert cli("user", "set-role", "bob", "acme/team", "write").exit_code == 0
    return "acme/team"


# ---- workspaces ------------------------------------------------------------------


def test_workspace_create_and_ls(cli: Invoke) -> None:
    result = cli("workspace", "create", "acme/team")
    assert result.exit_code == 0, result.output
    assert "Created workspace acme/team." in result.stdout
    listed = listing(cli, "workspace", "ls")
    assert [w["workspace"] for w in listed] == ["acme/team", "default/default"]
    assert listed[0]["members"] == 0 and listed[0]["created"].endswith("Z")
    table = cli("workspace", "ls")
    assert table.exit_code == 0 and "acme/team" in table.stdout


def test_workspace_ls_counts_members(cli: Invoke, team: str) -> None:
    listed = {w["workspace"]: w["members"] for w in listing(cli, "workspace", "ls")}
    assert listed == {"acme/team": 1, "default/default": 0}


def test_workspace_create_refuses_an_existing_one(cli: Invoke) -> None:
    assert cli("workspace", "create", "acme/team").exit_code == 0
    before = listing(cli, "workspace", "ls")
    result = cli("workspace", "create", "acme/team")
    assert_failed(result)
    assert "Workspace acme/team already exists." in result.stderr
    assert listing(cli, "workspace", "ls") == before


@pytest.mark.parametrize("path", ["team", "Acme/team", "acme/", "acme/te am", "acme/team/x"])
def test_workspace_create_refuses_a_bad_name(cli: Invoke, path: str) -> None:
    result = cli("workspace", "create", path)
    assert_failed(result)
    assert "is not ACCOUNT/NAME" in result.stderr
    assert "lowercase letters, digits, dots, dashes or underscores" in result.stderr
    assert [w["workspace"] for w in listing(cli, "workspace", "ls")] == ["default/default"]


# ---- users -----------------------------------------------------------------------


def test_user_create_prompts_twice_without_echo(cli: Invoke, engine: Engine) -> None:
    result = cli("user", "create", "alice", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created server admin alice." in result.stdout
    assert "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output  # hidden input
    (alice,) = listing(cli, "user", "ls")
    assert alice | {"created": None} == {
        "name": "alice",
        "admin": True,
        "disabled": False,
        "created": None,
        "workspaces": [],
    }
    with read(engine) as conn:
        assert accounts.check_password(conn, "alice", PASSWORD) is not None


def test_user_create_from_stdin(cli: Invoke, engine: Engine) -> None:
    # Spaces are part of the password; only the line ending is not.
    result = cli("user", "create", "ci", "--password-stdin", input=f" {PASSWORD} \nmore\n")
    assert result.exit_code == 0, result.output
    assert "Created user ci." in result.stdout
    with read(engine) as conn:
        assert accounts.check_password(conn, "ci", f" {PASSWORD} ") is not None
        assert accounts.check_password(conn, "ci", PASSWORD) is None
    assert listing(cli, "user", "ls")[0]["admin"] is False


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("Alice",), f"{PASSWORD}\n", "username: must be 1 to 64 lowercase letters"),
        (("bob-",), f"{PASSWORD}\n", "starting and ending with a letter or digit"),
        (("bob",), "short\n", "password: must be 8 to 1024 characters"),
        (("bob",), "\n", "stdin held no password"),
        (("bob",), "", "stdin held no password"),
    ],
)
def test_user_create_refuses_bad_input(
    cli: Invoke, args: tuple[str, ...], stdin: str, message: str
) -> None:
    result = cli("user", "create", *args, "--password-stdin", input=stdin)
    assert_failed(result)
    assert message in result.stderr
    assert listing(cli, "user", "ls") == []


def test_user_create_refuses_unmatched_confirmation(cli: Invoke) -> None:
    result = cli("user", "create", "alice", input=f"{PASSWORD}\nsomething else\n")
    assert_failed(result)
    assert "the two entries must match" in result.stderr
    assert listing(cli, "user", "ls") == []


def test_user_create_refuses_a_taken_name_before_the_password(cli: Invoke, team: str) -> None:
    before = listing(cli, "user", "ls")
    result = cli("user", "create", "bob")  # no input: it must not prompt
    assert_failed(result)
    assert "User bob already exists." in result.stderr
    assert "Password" not in result.output
    assert listing(cli, "user", "ls") == before


def test_user_ls_shows_roles(cli: Invoke, team: str) -> None:
    users = {u["name"]: u for u in listing(cli, "user", "ls")}
    assert users["bob"]["workspaces"] == [{"workspace": "acme/team", "role": "write"}]
    assert users["alice"]["admin"] is True and users["bob"]["admin"] is False
    table = cli("user", "ls")
    assert table.exit_code == 0 and "acme/team (write)" in table.stdout


def test_set_password(cli: Invoke, engine: Engine, team: str) -> None:
    result = cli("user", "set-password", "bob", input="new password 2\nnew password 2\n")
    assert result.exit_code == 0, result.output
    assert "Changed the password of bob" in result.stdout
    with read(engine) as conn:
        assert accounts.check_password(conn, "bob", "new password 2") is not None
        assert accounts.check_password(conn, "bob", PASSWORD) is None


def test_set_password_refusals_change_nothing(cli: Invoke, engine: Engine, team: str) -> None:
    unknown = cli("user", "set-password", "carol", "--password-stdin", input=PASSWORD + "\n")
    assert_failed(unknown)
    assert "no user carol" in unknown.stderr
    short = cli("user", "set-password", "bob", "--password-stdin", input="short\n")
    assert_failed(short)
    assert "must be 8 to 1024 characters" in short.stderr
    with read(engine) as conn:
        assert accounts.check_password(conn, "bob", PASSWORD) is not None


def test_disable_and_enable(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "read", "--name", "b", "--user", "bob")
    result = cli("user", "disable", "bob")
    assert result.exit_code == 0, result.output
    assert "Disabled bob" in result.stdout
    assert {u["name"]: u["disabled"] for u in listing(cli, "user", "ls")}["bob"] is True
    assert grant_of(engine, secret) is None
    with read(engine) as conn:
        assert accounts.check_password(conn, "bob", PASSWORD) is None
    result = cli("user", "enable", "bob")
    assert result.exit_code == 0 and "Enabled bob." in result.stdout
    assert {u["name"]: u["disabled"] for u in listing(cli, "user", "ls")}["bob"] is False
    assert grant_of(engine, secret) == Role.READ


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_disable_and_enable_an_unknown_user(cli: Invoke, team: str, command: str) -> None:
    before = listing(cli, "user", "ls")
    result = cli("user", command, "carol")
    assert_failed(result)
    assert "no user carol" in result.stderr
    assert listing(cli, "user", "ls") == before


# ---- roles -----------------------------------------------------------------------


def test_set_role_lowering_lowers_keys(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "write", "--name", "ci", "--user", "bob")
    assert grant_of(engine, secret) == Role.WRITE
    result = cli("user", "set-role", "bob", team, "read")
    assert result.exit_code == 0, result.output
    assert "bob now has the read role in acme/team." in result.stdout
    assert "1 key of theirs in acme/team lowered to read." in result.stdout
    assert grant_of(engine, secret) == Role.READ
    (key,) = listing(cli, "key", "ls")
    assert key["role"] == "read" and key["status"] == "active"
    # Raising the role again does not raise the key: it was made for less.
    assert cli("user", "set-role", "bob", team, "admin").exit_code == 0
    assert grant_of(engine, secret) == Role.READ


def test_set_role_none_removes_and_revokes(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "write", "--name", "ci", "--user", "bob")
    result = cli("user", "set-role", "bob", team, "none")
    assert result.exit_code == 0, result.output
    assert "bob no longer has a role in acme/team." in result.stdout
    assert "1 key of theirs in acme/team revoked." in result.stdout
    assert {u["name"]: u["workspaces"] for u in listing(cli, "user", "ls")}["bob"] == []
    assert grant_of(engine, secret) is None
    assert listing(cli, "key", "ls")[0]["status"] == "revoked"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bob", "acme/team", "owner"), "unknown role 'owner': choose one of read, write, admin"),
        (("bob", "acme/other", "read"), "no workspace acme/other"),
        (("bob", "Acme", "read"), "is not ACCOUNT/NAME"),
        (("carol", "acme/team", "read"), "no user carol"),
    ],
)
def test_set_role_refusals_change_nothing(
    cli: Invoke, team: str, args: tuple[str, ...], message: str
) -> None:
    before = listing(cli, "user", "ls")
    result = cli("user", "set-role", *args)
    assert_failed(result)
    assert message in result.stderr
    assert listing(cli, "user", "ls") == before


# ---- keys ------------------------------------------------------------------------


def test_key_create_prints_a_working_key_once(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "write", "--name", "ci-bot")
    with read(engine) as conn:
        grant = accounts.principal_of_key(conn, secret)
        workspace_id = workspaces.find(conn, team).id
    assert grant is not None
    assert grant.principal.grants == {workspace_id: Role.WRITE}
    assert grant.principal.name == "alice (key ci-bot)"  # the only admin, by default
    assert grant.expires is None
    (key,) = listing(cli, "key", "ls")
    assert {k: key[k] for k in ("name", "user", "role", "workspace", "status")} == {
        "name": "ci-bot",
        "user": "alice",
        "role": "write",
        "workspace": "acme/team",
        "status": "active",
    }
    assert secret.startswith(key["prefix"] + "_")
    listed = cli("key", "ls")
    assert listed.exit_code == 0
    assert key["prefix"] in listed.stdout and secret not in listed.stdout


def test_key_create_json(cli: Invoke, engine: Engine, team: str) -> None:
    result = cli(
        "key", "create", "--workspace", team, "--role", "read", "--name", "dash",
        "--user", "bob", "--expires", "2h", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert KEY.fullmatch(created["key"])
    assert grant_of(engine, created["key"]) == Role.READ
    expires = dt.datetime.fromisoformat(created["expires"])
    assert abs(expires - (utcnow() + dt.timedelta(hours=2))) < dt.timedelta(minutes=1)
    assert [k["id"] for k in listing(cli, "key", "ls")] == [created["id"]]


@pytest.mark.parametrize(("text", "lifetime"), [("12h", 12), ("90d", 90 * 24), ("4w", 4 * 168)])
def test_key_expires(cli: Invoke, engine: Engine, team: str, text: str, lifetime: int) -> None:
    new_key(cli, "--workspace", team, "--role", "read", "--name", "k", "--expires", text)
    with read(engine) as conn:
        (key,) = accounts.list_keys(conn)
    assert key.expires is not None
    assert abs(key.expires - (utcnow() + dt.timedelta(hours=lifetime))) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("text", ["5m", "90", "d", "0d", "-1d", "1.5d", "90 days", "99999w"])
def test_key_expires_refuses_other_forms(cli: Invoke, team: str, text: str) -> None:
    result = cli(
        "key", "create", "--workspace", team, "--role", "read", "--name", "k", "--expires", text
    )
    assert_failed(result)
    assert "give a number of hours, days or weeks such as 12h, 90d or 4w" in result.stderr
    assert listing(cli, "key", "ls") == []


def test_key_never_has_more_rights_than_its_user(cli: Invoke, team: str) -> None:
    result = cli(
        "key", "create", "--workspace", team, "--role", "admin", "--name", "k", "--user", "bob"
    )
    assert_failed(result)
    assert "a key cannot have more rights than its user: bob has the write role" in result.stderr
    assert cli("workspace", "create", "acme/other").exit_code == 0
    elsewhere = cli(
        "key", "create", "--workspace", "acme/other", "--role", "read", "--name", "k",
        "--user", "bob",
    )  # fmt: skip
    assert_failed(elsewhere)
    assert "bob has no role in acme/other" in elsewhere.stderr
    assert listing(cli, "key", "ls") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workspace", "acme/nope"), "no workspace acme/nope"),
        (("--workspace", "nope"), "is not ACCOUNT/NAME"),
        (("--role", "owner"), "--role: unknown role 'owner'"),
        (("--user", "carol"), "no user carol"),
        (("--name", "  "), "name: must be 1 to 200 characters"),
    ],
)
def test_key_create_refusals_change_nothing(
    cli: Invoke, team: str, args: tuple[str, ...], message: str
) -> None:
    options = {"--workspace": team, "--role": "read", "--name": "k"}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = cli("key", "create", *[part for pair in options.items() for part in pair])
    assert_failed(result)
    assert message in result.stderr
    assert KEY.search(result.output) is None
    assert listing(cli, "key", "ls") == []


def test_key_user_is_required_without_exactly_one_admin(cli: Invoke) -> None:
    assert cli("workspace", "create", "acme/team").exit_code == 0
    args = ("key", "create", "--workspace", "acme/team", "--role", "read", "--name", "k")
    none = cli(*args)
    assert_failed(none)
    assert "--user is required: there is no server admin" in none.stderr
    add_user(cli, "alice", "--admin")
    add_user(cli, "carol", "--admin")
    two = cli(*args)
    assert_failed(two)
    assert "--user is required: there are 2 server admins (alice, carol)" in two.stderr
    assert listing(cli, "key", "ls") == []
    # A disabled admin is not one to default to.
    assert cli("user", "disable", "carol").exit_code == 0
    new_key(cli, "--workspace", "acme/team", "--role", "read", "--name", "k")
    assert listing(cli, "key", "ls")[0]["user"] == "alice"


@pytest.mark.parametrize("by", ["prefix", "id", "whole key"])
def test_key_revoke(cli: Invoke, engine: Engine, team: str, by: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "read", "--name", "k")
    (key,) = listing(cli, "key", "ls")
    ident = {"prefix": key["prefix"], "id": key["id"], "whole key": secret}[by]
    result = cli("key", "revoke", ident)
    assert result.exit_code == 0, result.output
    assert f"Key k ({key['prefix']}) of alice in acme/team is revoked" in result.stdout
    assert grant_of(engine, secret) is None
    assert listing(cli, "key", "ls")[0]["status"] == "revoked"
    again = cli("key", "revoke", ident)  # changes nothing, says so the same way
    assert again.exit_code == 0 and "is revoked" in again.stdout


def test_key_revoke_unknown(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "read", "--name", "k")
    result = cli("key", "revoke", "rfk_000000000000")
    assert_failed(result)
    assert "no key rfk_000000000000" in result.stderr
    assert listing(cli, "key", "ls")[0]["status"] == "active"
    assert grant_of(engine, secret) == Role.READ


def test_expired_key(cli: Invoke, engine: Engine, team: str) -> None:
    secret = new_key(cli, "--workspace", team, "--role", "read", "--name", "k", "--expires", "1d")
    assert grant_of(engine, secret) == Role.READ
    with write(engine) as conn:
        past = utcnow() - dt.timedelta(seconds=1)
        conn.execute(update(api_keys).values(expires=past))
    assert grant_of(engine, secret) is None
    assert listing(cli, "key", "ls")[0]["status"] == "expired"


# ---- secrets are not stored ----------------------------------------------------------


def _secrets(cli: Invoke) -> list[str]:
    """Make a user with PASSWORD and a key; the key's secret and the password."""
    assert cli("workspace", "create", "acme/team").exit_code == 0
    add_user(cli, "alice", "--admin")
    secret = new_key(cli, "--workspace", "acme/team", "--role", "write", "--name", "k")
    # A key is rfk_<id>_<secret>, and the secret may itself hold "_" (base64url).
    return [secret, secret.split("_", 2)[2], PASSWORD]


def test_no_table_holds_a_secret(cli: Invoke, engine: Engine) -> None:
    found = _secrets(cli)
    with read(engine) as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                stored = repr(tuple(row))
                assert not [s for s in found if s in stored], table.name


# About the SQLite file itself: its bytes, free pages and WAL included.
@sqlite_only
def test_database_file_never_holds_a_secret(
    cli: Invoke, engine: Engine, settings: Settings
) -> None:
    found = _secrets(cli)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    files = list(Path(settings.home).glob("runfolio.db*"))
    assert Path(settings.home, "runfolio.db") in files
    for path in files:
        data = path.read_bytes()
        assert not [s for s in found if s.encode() in data], path
