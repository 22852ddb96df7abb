"""Deleting a version or a key from the UI, and the retention page, over HTTP against
the app: confirmation pages that name what goes, CSRF refused (nothing deleted), the
admin role required once accounts are on (buttons hidden, POST 403), allowed to all
when accounts are off."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import write

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


def _versions(api: TestClient, key: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        made = api.post("/api/artifacts/", json={"key": key, "type": "markdown", "data": f"v{n}"})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def _token(client: TestClient, path: str) -> str:
    shown = client.get(path)
    assert shown.status_code == 200, shown.text
    found = TOKEN_FIELD.search(shown.text)
    assert found, shown.text
    return found.group(1)


def _latest(api: TestClient, key: str) -> httpx.Response:
    response: httpx.Response = api.get(f"/api/artifacts/{key}/latest")
    return response


# -- accounts off: one local user, who may delete -------------------------------------------


def test_deleting_the_latest_version_shows_the_new_latest(api: TestClient) -> None:
    ids = _versions(api, "ui-del", 3)
    key_page = api.get("/artifacts/key/ui-del")
    assert f'href="/artifacts/{ids[2]}/delete"' in key_page.text
    assert 'href="/artifacts/key/ui-del/delete"' in key_page.text
    confirm = api.get(f"/artifacts/{ids[2]}/delete")
    assert confirm.status_code == 200
    assert "Version 3 of 3 of the key “ui-del”" in confirm.text
    assert ids[2] in confirm.text and "version 2 becomes the latest" in confirm.text
    token = TOKEN_FIELD.search(confirm.text)
    assert token
    done = api.post(
        f"/artifacts/{ids[2]}/delete", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/artifacts/key/ui-del"
    assert _latest(api, "ui-del").json()["id"] == ids[1]
    shown = api.get("/artifacts/key/ui-del")
    assert "Version 2 of 2" in shown.text


def test_deleting_a_key_removes_every_version(api: TestClient) -> None:
    ids = _versions(api, "ui-gone", 4)
    _versions(api, "ui-stays", 1)
    confirm = api.get("/artifacts/key/ui-gone/delete")
    assert "4 versions" in confirm.text and "Delete all 4 versions" in confirm.text
    token = _token(api, "/artifacts/key/ui-gone/delete")
    done = api.post(
        "/artifacts/key/ui-gone/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/artifacts"
    assert _latest(api, "ui-gone").status_code == 404
    assert all(api.get(f"/api/artifacts/{i}").status_code == 404 for i in ids)
    assert _latest(api, "ui-stays").status_code == 200


def test_deleting_the_only_version_goes_to_the_artifacts_list(api: TestClient) -> None:
    (only,) = _versions(api, "ui-only", 1)
    confirm = api.get(f"/artifacts/{only}/delete")
    assert "the key “ui-only” goes with it" in confirm.text
    token = _token(api, f"/artifacts/{only}/delete")
    done = api.post(f"/artifacts/{only}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/artifacts"
    assert _latest(api, "ui-only").status_code == 404


@pytest.mark.parametrize("token", [None, "", "forged-token", "x" * 300])
def test_a_delete_without_the_right_csrf_token_is_403(api: TestClient, token: str | None) -> None:
    ids = _versions(api, "ui-csrf", 2)
    api.get(f"/artifacts/{ids[1]}/delete")  # the browser has its cookie
    form = {} if token is None else {"csrf_token": token}
    for path in (f"/artifacts/{ids[1]}/delete", "/artifacts/key/ui-csrf/delete"):
        refused = api.post(path, data=form, follow_redirects=False)
        assert refused.status_code == 403, refused.text
        assert "nothing was changed" in refused.text
    assert _latest(api, "ui-csrf").json()["id"] == ids[1]
    assert api.get(f"/api/artifacts/{ids[0]}").status_code == 200


def test_deleting_what_is_gone_is_404_and_changes_nothing(api: TestClient) -> None:
    ids = _versions(api, "ui-twice", 2)
    token = _token(api, f"/artifacts/{ids[1]}/delete")
    assert api.post(f"/artifacts/{ids[1]}/delete", data={"csrf_token": token}).status_code == 200
    again = api.post(f"/artifacts/{ids[1]}/delete", data={"csrf_token": token})
    assert again.status_code == 404
    assert _latest(api, "ui-twice").json()["id"] == ids[0]
    assert api.post("/artifacts/key/nope/delete", data={"csrf_token": token}).status_code == 404


def test_the_retention_page_sets_and_removes_policies(api: TestClient) -> None:
    token = _token(api, "/retention")
    assert "No retention policies" in api.get("/retention").text
    form = {"csrf_token": token, "key_pattern": "nightly-*", "keep_last": "30", "keep_days": ""}
    done = api.post("/retention", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/retention"
    form = {"csrf_token": token, "key_pattern": "*", "keep_last": "", "keep_days": "7.5"}
    assert api.post("/retention", data=form).status_code == 200
    twin = api.get("/api/ui/retention").json()
    assert [(p["key_pattern"], p["keep_last"], p["keep_days"]) for p in twin["policies"]] == [
        ("nightly-*", 30, None),
        ("*", None, 7.5),
    ]
    page = api.get("/retention").text
    assert 'data-pattern="nightly-*"' in page and 'id="retention-link"' in page
    removed = api.post("/retention/remove", data={"csrf_token": token, "key_pattern": "*"})
    assert removed.status_code == 200
    assert [p["key_pattern"] for p in api.get("/api/retention/policies").json()] == ["nightly-*"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"key_pattern": "x", "keep_last": "", "keep_days": ""}, "keep_last, keep_days or both"),
        ({"key_pattern": "x", "keep_last": "0", "keep_days": ""}, "Keep last:"),
        ({"key_pattern": "x", "keep_last": "ten", "keep_days": ""}, "Keep last:"),
        ({"key_pattern": "x", "keep_last": "", "keep_days": "-1"}, "Keep days:"),
        ({"key_pattern": "Bad Pattern", "keep_last": "1", "keep_days": ""}, "Pattern: 1 to 200"),
        ({"key_pattern": "", "keep_last": "1", "keep_days": ""}, "Pattern: 1 to 200"),
    ],
)
def test_bad_policy_forms_are_400_and_change_nothing(
    api: TestClient, fields: dict[str, str], says: str
) -> None:
    token = _token(api, "/retention")
    refused = api.post("/retention", data={"csrf_token": token, **fields})
    assert refused.status_code == 400, refused.text
    assert says in refused.text and "Nothing was changed." in refused.text
    assert api.get("/api/retention/policies").json() == []


def test_retention_forms_without_the_csrf_token_are_403(api: TestClient) -> None:
    form = {"key_pattern": "*", "keep_last": "1"}
    assert api.post("/retention", data=form).status_code == 403
    assert api.post("/retention", data={**form, "csrf_token": "wrong"}).status_code == 403
    assert api.get("/api/retention/policies").json() == []


# -- accounts on: admins delete, readers and writers do not ----------------------------------


def _signed_in(api: TestClient, username: str) -> TestClient:
    client = TestClient(_app(api))
    assert client.get("/sign-in").status_code == 200
    form = {
        "username": username,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": client.cookies["runfolio_csrf"],
    }
    assert client.post("/sign-in", data=form, follow_redirects=False).status_code == 303
    return client


def test_only_an_admin_sees_and_may_use_delete(api: TestClient) -> None:
    ids = _versions(api, "ui-roles", 2)  # before accounts are on
    with write(_app(api).state.engine) as conn:
        here = workspaces.find(conn, "default")
        for name, role in (("alice", Role.ADMIN), ("bob", Role.WRITE), ("rita", Role.READ)):
            user = accounts.create_user(conn, name, PASSWORD, is_admin=False)
            accounts.set_role(conn, user, here, role)
    _app(api).state.auth.forget()
    alice = _signed_in(api, "alice")
    admin_token = _token(alice, "/artifacts/key/ui-roles")
    for name in ("bob", "rita"):
        user = _signed_in(api, name)
        key_page = user.get("/artifacts/key/ui-roles")
        assert key_page.status_code == 200
        assert "/delete" not in key_page.text and 'id="retention-link"' not in key_page.text
        assert user.get(f"/artifacts/{ids[1]}/delete").status_code == 403
        assert user.get("/retention").status_code == 403
        assert user.get("/api/ui/retention").status_code == 403
        token = _token(user, "/artifacts/key/ui-roles")
        for path in (f"/artifacts/{ids[1]}/delete", "/artifacts/key/ui-roles/delete"):
            refused = user.post(path, data={"csrf_token": token})
            assert refused.status_code == 403, refused.text
            assert "takes the admin role" in refused.text
        refused = user.post(
            "/retention", data={"csrf_token": token, "key_pattern": "*", "keep_last": "1"}
        )
        assert refused.status_code == 403
        # Another user's token is no good either.
        assert (
            user.post(f"/artifacts/{ids[1]}/delete", data={"csrf_token": admin_token}).status_code
            == 403
        )
    assert alice.get(f"/api/artifacts/{ids[1]}").status_code == 401  # the API wants a key
    key_page = alice.get("/artifacts/key/ui-roles").text
    assert f'href="/artifacts/{ids[1]}/delete"' in key_page and 'id="retention-link"' in key_page
    done = alice.post(
        f"/artifacts/{ids[1]}/delete", data={"csrf_token": admin_token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "Version 1 of 1" in alice.get("/artifacts/key/ui-roles").text
