"""Deleting from the UI and the Retention page in a real Chromium against a real server
(accounts off: the local user may delete): the confirmation names what goes, the key
page then shows the new latest; a forged CSRF token deletes nothing."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.servers import ServerProcess
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
