"""Data that does not fit its type, or nests too deep to decode, in a real browser:
shown as stored under a notice, inert, with no console errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from runfolio.store.engine import connect
from tests.servers import ServerProcess
from tests.ui.seed import Seed, store_as_is, unique
from tests.ui.test_browser_security import _assert_inert

pytestmark = pytest.mark.browser

HOSTILE = {"html": "<img src=x onerror=\"window.__pwned='misfit'\">", "n": 1}
DEEP = "[" * 1000 + "1" + "]" * 1000


@pytest.fixture
def server_db(ui_server: ServerProcess) -> Iterator[Engine]:
    """The UI server's own database file, to store rows exactly as given."""
    engine = connect(f"sqlite:///{ui_server.home / 'runfolio.db'}")
    yield engine
    engine.dispose()


def test_odd_data_is_shown_as_stored_on_every_page(
    page: Page, seed: Seed, server_db: Engine
) -> None:
    run = seed.flow_run("odd-flow", name=unique("odd-run"))
    prefix = unique("odd")
    image_key, deep_key, table_key = f"{prefix}-image", f"{prefix}-deep", f"{prefix}-table"
    store_as_is(
        server_db,
        type="image",
        data_text=json.dumps(HOSTILE),
        key=image_key,
        flow_run_id=run["id"],
    )
    store_as_is(server_db, type="markdown", data_text=DEEP, key=deep_key, flow_run_id=run["id"])
    store_as_is(server_db, type="table", data_text="1", key=table_key, flow_run_id=run["id"])

    page.goto(f"/artifacts/key/{image_key}")
    expect(page.locator(".artifact-body [data-notice]")).to_have_text(
        "This data does not fit the type 'image'; shown as stored."
    )
    expect(page.locator("[data-renderer=json]")).to_have_text(json.dumps(HOSTILE, indent=2))
    _assert_inert(page)

    page.goto(f"/artifacts/key/{table_key}")
    expect(page.locator(".artifact-body [data-notice]")).to_contain_text("type 'table'")
    expect(page.locator("[data-renderer=json]")).to_have_text("1")
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)

    page.goto(f"/artifacts/key/{deep_key}")
    expect(page.locator(".artifact-body [data-notice]")).to_have_text(
        "This data nests deeper than 200 levels; shown as stored text."
    )
    expect(page.locator("[data-renderer=stored]")).to_have_text(DEEP)

    page.goto(f"/runs/{run['id']}")
    expect(page.locator("#panel-artifacts .run-artifact")).to_have_count(3)
    expect(page.locator("#panel-artifacts [data-notice]")).to_have_count(3)
    _assert_inert(page)

    page.goto(f"/artifacts?q={prefix}")
    expect(page.locator("#artifact-list tbody tr")).to_have_count(3)
    image_row = page.locator(f"tr[data-key='{image_key}']")
    expect(image_row.locator("[data-notice]")).to_contain_text("type 'image'")
    expect(image_row.locator("[data-renderer=json]")).to_contain_text('"html"')
    expect(page.locator(f"tr[data-key='{deep_key}'] [data-renderer=stored]")).to_have_text(DEEP)
    _assert_inert(page)
