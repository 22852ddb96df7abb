"""Who may read uploaded files through the pages (`/blobs/{sha256}`), and what of an
uploaded file's description reaches the page: over HTTP against the app, auth on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runfolio.ops.access import Role
from runfolio.server.ui import render
from runfolio.store import accounts, workspaces
from runfolio.store.engine import write
from tests.blob_samples import png

PASSWORD = "correct horse battery"


@dataclass
class Crew:
    app: FastAPI
    key: dict[str, str]  # name -> API key


def _app(api: TestClient) -> FastAPI:
    app = api.app
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def crew(api: TestClient) -> Iterator[Crew]:
    """rita reads the default workspace; olga only acme/prod; a writer key uploads."""
    app = _app(api)
    keys: dict[str, str] = {}
    with write(app.state.engine) as conn:
        here = workspaces.find(conn, "default")
        prod = workspaces.find(conn, "acme/prod")
        for name, workspace, role in (
            ("rita", here, Role.READ),
            ("wes", here, Role.WRITE),
            ("olga", prod, Role.ADMIN),
        ):
            user = accounts.create_user(conn, name, PASSWORD, is_admin=False)
            accounts.set_role(conn, user, workspace, role)
            keys[name] = accounts.create_key(conn, user, workspace, role, name, None)[1]
    app.state.auth.forget()
    yield Crew(app, keys)


def _signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app)
    assert client.get("/sign-in").status_code == 200
    form = {
        "username": username,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": client.cookies["runfolio_csrf"],
    }
    signed = client.post("/sign-in", data=form, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return client


def test_only_readers_of_the_workspace_get_the_bytes(api: TestClient, crew: Crew) -> None:
    data = png(3, 3, (7, 7, 7))
    wes = {"Authorization": f"Bearer {crew.key['wes']}"}
    uploaded = api.post("/api/blobs", content=data, headers={**wes, "Content-Type": "image/png"})
    assert uploaded.status_code == 201, uploaded.text
    path = f"/blobs/{uploaded.json()['sha256']}"

    anonymous = TestClient(crew.app).get(path, follow_redirects=False)
    assert anonymous.status_code in (303, 401), anonymous.text
    assert data not in anonymous.content
    # A cookie-less script with a key of another workspace: not found here.
    olga_key = {"Authorization": f"Bearer {crew.key['olga']}"}
    by_key = TestClient(crew.app).get(path, headers=olga_key)
    assert by_key.status_code == 404, by_key.text
    # Signed in to a workspace that does not hold it: not found, whatever the hash.
    olga = _signed_in(crew.app, "olga")
    refused = olga.get(path)
    assert refused.status_code == 404, refused.text
    assert data not in refused.content
    rita = _signed_in(crew.app, "rita")
    shown = rita.get(path)
    assert shown.status_code == 200, shown.text
    assert shown.content == data
    # The API takes no cookie: a page's session opens nothing there.
    by_cookie = rita.get(f"/api/blobs/{uploaded.json()['sha256']}")
    assert by_cookie.status_code == 401, by_cookie.text


def test_nothing_of_a_file_description_runs_on_the_page() -> None:
    sha = "a" * 64
    view = render.file_view(
        {
            "sha256": sha,
            "filename": '"><img src=x onerror=alert(1)>',
            "content_type": 'text/html; x="<script>"',
            "size": "big",
        }
    )
    assert view is not None
    assert view.preview == "none" and view.size is None
    assert render.file_view({"sha256": "../../etc/passwd"}) is None
    assert render.file_view(["not", "an", "object"]) is None
    assert render.kind_of("file", {"sha256": "nope"}) == "json"
    assert render.kind_of("file", {"sha256": sha}) == "file"


def test_blob_references_in_markdown_and_images() -> None:
    sha = "b" * 64
    html = str(
        render.markdown(
            f"![a](runfolio-blob:{sha}) ![b](/api/accounts/x/workspaces/y/blobs/{sha}) "
            f"![c](runfolio-blob:{sha[:10]}) ![d](runfolio-blob:javascript:alert(1)) "
            f"[e](runfolio-blob:{sha})"
        )
    )
    assert re.findall(r'src="([^"]*)"', html) == [f"/blobs/{sha}", f"/blobs/{sha}"]
    assert f'href="/blobs/{sha}"' in html
    assert "javascript" not in html and "runfolio-blob" not in html
    assert render.image_src(f"/api/blobs/{sha}") == f"/blobs/{sha}"
    assert render.image_src(f"runfolio-blob:{sha}") == f"/blobs/{sha}"
    assert render.image_src("/etc/passwd") is None  # other relative URLs stay refused
    assert render.image_src(f"//evil.example/blobs/{sha}") is None


def test_the_artifacts_list_filters_file_artifacts(api: TestClient) -> None:
    blob = api.post("/api/blobs", content=b"listed", headers={"Content-Type": "text/plain"})
    api.post("/api/artifacts/", json={"key": "a-file", "type": "file", "data": blob.json()})
    api.post("/api/artifacts/", json={"key": "a-note", "type": "markdown", "data": "note"})
    listed = api.get("/api/ui/artifacts", params={"type": "file"}).json()
    assert [row["key"] for row in listed["items"]] == ["a-file"]
    assert 'option value="file" selected' in api.get("/artifacts?type=file").text
