"""Deleting from the UI and the Retention page in a real Chromium against a real server
(accounts off: the local user may delete): the confirmation names what goes, the key
page then shows the new latest; a forged CSRF token deletes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from runfolio.ops.access import Role
from runfolio.store import accounts, workspaces
from runfolio.store.engine import connect, write
from tests.servers import ServerProcess, running_server
from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser


def _versions(seed: Seed, key: str, count: int) -> list[str]:
    return [seed.artifact(key=key, type="markdown", data=f"# v{n}")["id"] for n in range(count)]


def _latest(server: ServerProcess, key: str) -> httpx.Response:
    return httpx.get(f"{server.api_url}/artifacts/{key}/latest", timeout=10)


def test_delete_a_version_then_the_key(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    key = unique("del")
    ids = _versions(seed, key, 3)
    page.goto(f"/artifacts/key/{key}")
    page.click("#delete-version-link")
    expect(page).to_have_url(f"{ui_server.url}/artifacts/{ids[2]}/delete")
    expect(page.locator("#delete-what")).to_contain_text(f"Version 3 of 3 of the key “{key}”")
    expect(page.locator("#delete-what")).to_contain_text(ids[2])
    expect(page.locator("#delete-after")).to_contain_text("version 2 becomes the latest")
    page.click("#delete-submit")
    expect(page).to_have_url(f"{ui_server.url}/artifacts/key/{key}")
    expect(page.locator("#version-info")).to_contain_text("Version 2 of 2")
    assert _latest(ui_server, key).json()["id"] == ids[1]

    # An older version, from its own page.
    page.goto(f"/artifacts/{ids[0]}")
    page.click("#delete-version-link")
    expect(page.locator("#delete-after")).to_contain_text("latest version stays")
    page.click("#delete-submit")
    expect(page).to_have_url(f"{ui_server.url}/artifacts/key/{key}")
    expect(page.locator("#version-info")).to_contain_text("Version 1 of 1")

    _versions(seed, key, 2)
    page.goto(f"/artifacts/key/{key}")
    page.click("#delete-key-link")
    expect(page.locator("#delete-what")).to_contain_text("3 versions")
    page.click("#delete-submit")
    expect(page).to_have_url(f"{ui_server.url}/artifacts")
    assert _latest(ui_server, key).status_code == 404


def test_a_forged_csrf_token_deletes_nothing(
    page: Page, seed: Seed, ui_server: ServerProcess, problems: list[str]
) -> None:
    key = unique("csrf")
    ids = _versions(seed, key, 2)
    page.goto(f"/artifacts/{ids[1]}/delete")
    page.locator("#delete-form input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    page.click("#delete-submit")
    expect(page.locator("h1")).to_have_text("Form refused")
    # The browser logs the 403 answer; it is the expected one.
    assert len(problems) == 1 and "403" in problems[0], problems
    problems.clear()
    # Without any token, from this very browser (it holds the cookie): refused too.
    refused = page.request.post(f"/artifacts/key/{key}/delete", form={})
    assert refused.status == 403
    assert _latest(ui_server, key).json()["id"] == ids[1]
    assert httpx.get(f"{ui_server.api_url}/artifacts/{ids[0]}", timeout=10).status_code == 200


def test_the_retention_page_adds_and_removes_a_policy(
    page: Page, ui_server: ServerProcess, problems: list[str]
) -> None:
    pattern = unique("ret") + "-*"
    page.goto("/artifacts")
    page.click("#retention-link")
    expect(page).to_have_url(f"{ui_server.url}/retention")
    page.fill("#policy-pattern", pattern)
    page.fill("#policy-keep-last", "12")
    page.fill("#policy-keep-days", "2.5")
    page.click("#set-policy button[type=submit]")
    row = page.locator(f'tr[data-pattern="{pattern}"]')
    expect(row.locator(".keep-last")).to_have_text("12")
    expect(row.locator(".keep-days")).to_have_text("2.5")
    page.fill("#policy-pattern", "Not A Pattern")
    page.fill("#policy-keep-last", "1")
    page.click("#set-policy button[type=submit]")
    expect(page.locator("#message")).to_contain_text("Pattern: 1 to 200")
    assert len(problems) == 1 and "400" in problems[0], problems  # the refusal's status
    problems.clear()
    page.goto("/retention")
    page.locator(f'tr[data-pattern="{pattern}"] button').click()
    expect(page.locator(f'tr[data-pattern="{pattern}"]')).to_have_count(0)


PASSWORD = "correct horse battery"


def test_a_reader_sees_no_delete_and_is_refused(browser: Browser, tmp_path: Path) -> None:
    """Accounts on: rita reads the default workspace, root is its admin. Rita's pages show
    no delete button and no Retention link; her POSTs with her own valid CSRF token are
    403 and delete nothing; root's delete works."""
    home = tmp_path / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    with write(engine) as conn:
        default = workspaces.find(conn, "default")
        root = accounts.create_user(conn, "root", PASSWORD, is_admin=True)
        rita = accounts.create_user(conn, "rita", PASSWORD, is_admin=False)
        accounts.set_role(conn, rita, default, Role.READ)
        secret = accounts.create_key(conn, root, default, Role.ADMIN, "seed")[1]
    engine.dispose()
    with running_server(home) as server:
        admin = {"Authorization": f"Bearer {secret}"}
        ids = [
            httpx.post(
                f"{server.api_url}/artifacts/",
                json={"key": "guarded", "type": "markdown", "data": f"# {n}"},
                headers=admin,
                timeout=10,
            ).json()["id"]
            for n in range(2)
        ]
        for user, may_delete in (("rita", False), ("root", True)):
            context = browser.new_context(base_url=server.url, locale="en-US")
            context.set_default_timeout(10_000)
            tab = context.new_page()
            try:
                tab.goto("/sign-in")
                tab.fill("#username", user)
                tab.fill("#password", PASSWORD)
                tab.click("button[type=submit]")
                expect(tab.locator("#signed-in-user")).to_have_text(user)
                tab.goto("/artifacts/key/guarded")
                expect(tab.locator("#version-info")).to_contain_text("Version 2 of 2")
                links = tab.locator("#delete-version-link, #delete-key-link, #retention-link")
                expect(links).to_have_count(3 if may_delete else 0)
                if may_delete:
                    tab.click("#delete-version-link")
                    tab.click("#delete-submit")
                    expect(tab.locator("#version-info")).to_contain_text("Version 1 of 1")
                    continue
                token = tab.locator(".workspace-switch input[name=csrf_token]").input_value()
                for path in (f"/artifacts/{ids[1]}/delete", "/artifacts/key/guarded/delete"):
                    refused = tab.request.post(path, form={"csrf_token": token})
                    assert refused.status == 403, refused.text()
                    assert "takes the admin role" in refused.text()
                assert tab.request.get(f"/artifacts/{ids[1]}/delete").status == 403
                latest = httpx.get(
                    f"{server.api_url}/artifacts/guarded/latest", headers=admin, timeout=10
                )
                assert latest.json()["id"] == ids[1]
            finally:
                context.close()
