"""Hostile artifact content renders inert: no script runs, no javascript: link exists."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.ui.seed import Seed, unique

pytestmark = pytest.mark.browser

HOSTILE_MARKDOWN = """# Totally normal report

<script>window.__pwned = "script";</script>

<img src="x" onerror="window.__pwned = 'onerror'">

[click me](javascript:window.__pwned='markdown-link')

<a href="javascript:window.__pwned='html-link'">html link</a>
<a href="JaVaScRiPt:window.__pwned='mixed-case'">mixed case</a>
<a href="java&#x09;script:window.__pwned='entity'">entity</a>

<iframe src="javascript:parent.__pwned='iframe'"></iframe>
<svg onload="window.__pwned='svg'"><circle r="5"></circle></svg>
<div onmouseover="window.__pwned='hover'" style="position:fixed;inset:0">hover me</div>
"""
HOSTILE_CELLS: list[dict[str, str]] = [
    {"html": "<img src=x onerror=\"window.__pwned='cell'\">", "n": "1"},
    {"html": "<script>window.__pwned='cell-script'</script>", "n": "2"},
    {"html": "<a href=\"javascript:window.__pwned='cell-link'\">x</a>", "n": "3"},
]


def _assert_inert(page: Page) -> None:
    page.wait_for_load_state("load")
    page.mouse.move(400, 400)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("[href^='javascript:' i]").count() == 0
    assert page.locator("main iframe, main object, main embed").count() == 0
    for attribute in ("onerror", "onload", "onclick", "onmouseover"):
        assert page.locator(f"main [{attribute}]").count() == 0, attribute
    scripts = page.locator("script:not([src]):not([type='application/json'])")
    assert scripts.count() == 0


def test_hostile_markdown_and_table_render_inert(page: Page, seed: Seed) -> None:
    run = seed.flow_run("hostile-flow", name=unique("hostile-run"))
    md_key, table_key = unique("hostile-md"), unique("hostile-table")
    seed.artifact(
        key=md_key,
        type="markdown",
        data=HOSTILE_MARKDOWN,
        description="<img src=x onerror=\"window.__pwned='description'\">**desc**",
        flow_run_id=run["id"],
    )
    seed.artifact(
        key=table_key, type="table", data=json.dumps(HOSTILE_CELLS), flow_run_id=run["id"]
    )
    link_key, image_key = unique("hostile-link"), unique("hostile-image")
    seed.artifact(key=link_key, type="markdown", data="[go](javascript:window.__pwned='l')")
    seed.artifact(key=image_key, type="image", data="javascript:window.__pwned='img'")

    page.goto(f"/artifacts/key/{md_key}")
    expect(page.locator(".artifact-body h1")).to_have_text("Totally normal report")
    for name in ("click me", "html link", "mixed case", "entity"):
        page.get_by_text(name).first.click()
    _assert_inert(page)
    expect(page.locator(".description strong")).to_have_text("desc")

    page.goto(f"/artifacts/key/{table_key}")
    cells = page.locator("table.data tbody td:first-child")
    expect(cells).to_have_text([row["html"] for row in HOSTILE_CELLS])  # shown as text
    page.locator("thead th:nth-child(1) button").click()  # re-rendered by table.js
    expect(cells.first).to_have_text(HOSTILE_CELLS[2]["html"])
    _assert_inert(page)

    page.goto(f"/runs/{run['id']}")
    expect(page.locator("#panel-artifacts .run-artifact")).to_have_count(2)
    _assert_inert(page)

    page.goto("/artifacts?q=hostile")
    _assert_inert(page)

    page.goto(f"/artifacts/key/{link_key}")
    expect(page.locator("[data-renderer=link]")).to_contain_text("not clickable")
    page.get_by_text("go", exact=True).click()
    _assert_inert(page)

    page.goto(f"/artifacts/key/{image_key}")
    expect(page.locator("[data-renderer=image] img")).to_have_count(0)
    expect(page.locator("[data-renderer=image]")).to_contain_text("only http and https")
    _assert_inert(page)
