"""Uploaded files on the artifact pages, in a real browser: images shown from this site,
PDFs embedded, text previewed as text, other types offered for download only."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from runfolio.store.engine import connect
from tests.blob_samples import pdf, png
from tests.servers import ServerProcess
from tests.ui.seed import Seed, unique
from tests.workspaces import create_workspaces

pytestmark = pytest.mark.browser


def upload(server: ServerProcess, content: bytes, content_type: str, base: str = "/api") -> Any:
    response = httpx.post(
        f"{server.url}{base}/blobs",
        content=content,
        headers={"Content-Type": content_type},
        params={"filename": "f"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def file_artifact(seed: Seed, key: str, blob: dict[str, Any], filename: str) -> dict[str, Any]:
    data = {**blob, "filename": filename}
    return seed.artifact(key=key, type="file", data=data)


def natural_width(page: Page, selector: str) -> int:
    locator = page.locator(selector)
    expect(locator).to_be_visible()
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete }", arg=selector
    )
    width: int = locator.evaluate("img => img.naturalWidth")
    return width


def test_images_from_blobs_are_shown(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    prefix = unique("blob-img")
    blob = upload(ui_server, png(9, 4), "image/png")
    seed.artifact(key=f"{prefix}-image", type="image", data=blob["url"])
    seed.artifact(
        key=f"{prefix}-md",
        type="markdown",
        data=f"# Plot\n\n![plot](runfolio-blob:{blob['sha256']})",
    )
    file_artifact(seed, f"{prefix}-file", blob, "plot.png")

    for key, selector in (
        (f"{prefix}-image", "[data-renderer=image] img"),
        (f"{prefix}-md", "[data-renderer=markdown] img"),
        (f"{prefix}-file", "[data-renderer=file] img.file-preview"),
    ):
        page.goto(f"/artifacts/key/{key}")
        expect(page.locator(selector)).to_have_attribute("src", f"/blobs/{blob['sha256']}")
        assert natural_width(page, selector) == 9, key
    facts = page.locator("[data-renderer=file] .file-facts dd")
    expect(facts).to_have_text(["plot.png", f"{blob['size']} B", "image/png"])


def test_a_pdf_is_embedded(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    key = unique("blob-pdf")
    blob = upload(ui_server, pdf("embedded"), "application/pdf")
    file_artifact(seed, key, blob, "report.pdf")
    with page.expect_response(lambda r: r.url.endswith(f"/blobs/{blob['sha256']}")) as loaded:
        page.goto(f"/artifacts/key/{key}")
    response = loaded.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    frame = page.locator("[data-renderer=file] iframe.pdf-preview")
    expect(frame).to_have_attribute("src", f"/blobs/{blob['sha256']}")
    expect(page.locator("[data-renderer=file]")).to_have_attribute("data-preview", "pdf")
    # The page's CSP lets this site's frame in (a refusal is a console error, failing the test).
    assert frame.bounding_box() is not None


def test_text_is_previewed_as_text(page: Page, seed: Seed, ui_server: ServerProcess) -> None:
    key = unique("blob-csv")
    lines = ["name,value", "<script>alert(1)</script>,1", *(f"row{i},{i}" for i in range(400))]
    blob = upload(ui_server, "\n".join(lines).encode(), "text/csv")
    file_artifact(seed, key, blob, "values.csv")
    page.goto(f"/artifacts/key/{key}")
    preview = page.frame_locator("[data-renderer=file] iframe.text-preview")
    body = preview.locator("body")
    expect(body).to_contain_text("<script>alert(1)</script>,1")
    text = body.inner_text()
    assert "row197,197" in text and "row198,198" not in text  # the first 200 lines
    assert text.rstrip().endswith("…")


@pytest.mark.parametrize(
    ("content", "content_type", "filename"),
    [
        (
            b"<html><body><script>document.title='owned'</script>hi</body></html>",
            "text/html",
            "x.html",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
            "image/svg+xml",
            "c.svg",
        ),
        (b"PK\x03\x04 not really a zip", "application/zip", "data.zip"),
    ],
)
def test_other_types_are_offered_for_download_only(
    page: Page,
    seed: Seed,
    ui_server: ServerProcess,
    content: bytes,
    content_type: str,
    filename: str,
) -> None:
    key = unique("blob-other")
    blob = upload(ui_server, content, content_type)
    file_artifact(seed, key, {**blob, "content_type": content_type}, filename)
    page.goto(f"/artifacts/key/{key}")
    figure = page.locator("[data-renderer=file]")
    expect(figure.locator("[data-no-preview]")).to_be_visible()
    expect(figure.locator("img, iframe, object, embed")).to_have_count(0)
    link = figure.locator("a[data-download]")
    expect(link).to_have_attribute("download", filename)
    with page.expect_download() as download:
        link.click()
    saved = download.value.path()
    assert saved.read_bytes() == content
    # Opened directly, it is a download too, never a page of this site.
    direct = httpx.get(f"{ui_server.url}/blobs/{blob['sha256']}", timeout=10)
    assert direct.headers["content-disposition"].startswith("attachment;")
    assert direct.headers["content-security-policy"].startswith("sandbox;")


def test_the_pages_show_only_their_workspaces_blobs(ui_server: ServerProcess) -> None:
    """A hash uploaded to another workspace is not served to the default one's pages."""
    engine = connect(f"sqlite:///{ui_server.home / 'runfolio.db'}")
    try:
        create_workspaces(engine, "blobs/elsewhere")
    finally:
        engine.dispose()
    content = b"a secret of another workspace " + unique("x").encode()
    blob = upload(ui_server, content, "text/plain", "/api/accounts/blobs/workspaces/elsewhere")
    assert blob["sha256"] == hashlib.sha256(content).hexdigest()
    for path in (f"/blobs/{blob['sha256']}", f"/blobs/{blob['sha256']}/preview"):
        response = httpx.get(ui_server.url + path, timeout=10)
        assert response.status_code == 404, path
        assert content not in response.content
