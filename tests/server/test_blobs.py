"""Blob uploads and downloads against a real server process: round trips, one file per
content, the size limit, workspace isolation and how each type is served."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runfolio.store.engine import connect
from tests.blob_samples import pdf, png
from tests.servers import ServerProcess, running_server
from tests.workspaces import create_workspaces

pytestmark = pytest.mark.server

LIMIT = 256 * 1024
SVG = "image/svg+xml"
A = "/api/accounts/acme/workspaces/a"
B = "/api/accounts/acme/workspaces/b"


@dataclass
class World:
    server: ServerProcess
    blobs: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("blobs") / "home"
    home.mkdir()
    engine = connect(f"sqlite:///{home / 'runfolio.db'}")
    create_workspaces(engine, "acme/a", "acme/b")
    engine.dispose()
    with running_server(home, {"RUNFOLIO_BLOB_MAX_BYTES": str(LIMIT)}) as server:
        yield World(server, home / "blobs")


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.server.url, timeout=30) as client:
        yield client


def stored_files(blobs: Path) -> set[str]:
    """Names of the blob files in place (staged uploads are not in place)."""
    return {p.name for p in blobs.rglob("*") if p.is_file() and p.parent.name != "tmp"}


def staged_files(blobs: Path) -> list[Path]:
    return list((blobs / "tmp").glob("*")) if (blobs / "tmp").exists() else []


def upload(
    http: httpx.Client, base: str, content: bytes, content_type: str, **params: str
) -> httpx.Response:
    return http.post(
        f"{base}/blobs", content=content, headers={"Content-Type": content_type}, params=params
    )


def test_round_trip_and_one_file_per_content(world: World, http: httpx.Client) -> None:
    data = png(7, 5)
    sha = hashlib.sha256(data).hexdigest()
    first = upload(http, "/api", data, "image/png", filename="plot.png")
    assert first.status_code == 201, first.text
    assert first.json() == {
        "sha256": sha,
        "size": len(data),
        "content_type": "image/png",
        "filename": "plot.png",
        "url": f"/api/blobs/{sha}",
    }
    again = upload(http, "/api", data, "image/png", filename="other-name.png")
    assert again.status_code == 200  # the workspace held these bytes already
    assert again.json()["filename"] == "plot.png"
    # A second workspace uploading the same bytes gets its own row, not a second file.
    in_a = upload(http, A, data, "image/png")
    assert in_a.status_code == 201
    assert in_a.json()["url"] == f"{A}/blobs/{sha}"
    assert sorted(p.name for p in world.blobs.rglob(sha)) == [sha]
    assert (world.blobs / sha[:2] / sha[2:4] / sha).read_bytes() == data

    got = http.get(f"/api/blobs/{sha}")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == 'inline; filename="plot.png"'
    assert http.get(f"{A}/blobs/{sha}").content == data


def test_a_large_upload_streams_in_chunks(world: World, http: httpx.Client) -> None:
    """A body sent chunked (no Content-Length), just under the limit, arrives whole."""
    piece = bytes(range(256)) * 256  # 64 KiB

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield piece

    response = http.post(
        "/api/blobs", content=chunks(), headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["size"] == 3 * len(piece)
    assert body["sha256"] == hashlib.sha256(piece * 3).hexdigest()
    assert http.get(body["url"]).content == piece * 3


def test_past_the_size_limit_is_413_and_stores_nothing(world: World, http: httpx.Client) -> None:
    before = stored_files(world.blobs)
    too_big = b"z" * (LIMIT + 1)
    with_length = upload(http, "/api", too_big, "text/plain")
    assert with_length.status_code == 413
    assert str(LIMIT) in with_length.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 4096 + 2):
            yield b"y" * 4096

    chunked = http.post("/api/blobs", content=chunks(), headers={"Content-Type": "text/plain"})
    assert chunked.status_code == 413
    assert stored_files(world.blobs) == before
    assert staged_files(world.blobs) == []
    for content in (too_big, b"y" * 4096 * (LIMIT // 4096 + 2)):
        sha = hashlib.sha256(content).hexdigest()
        assert http.get(f"/api/blobs/{sha}").status_code == 404


def test_a_blob_of_one_workspace_is_not_found_through_another(
    world: World, http: httpx.Client
) -> None:
    data = b"only for workspace a"
    sha = upload(http, A, data, "text/plain").json()["sha256"]
    assert http.get(f"{A}/blobs/{sha}").content == data
    for base in (B, "/api"):
        response = http.get(f"{base}/blobs/{sha}")
        assert response.status_code == 404, base
        assert data not in response.content


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><script>alert(document.cookie)</script></html>", "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (b"<script>alert(1)</script>", "application/javascript"),
        (b"\x00\x01binary", "application/octet-stream"),
    ],
)
def test_active_content_is_never_served_inline(
    http: httpx.Client, content: bytes, content_type: str
) -> None:
    sha = upload(http, "/api", content, content_type, filename="x").json()["sha256"]
    response = http.get(f"/api/blobs/{sha}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox;")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(png(), "image/png"), (pdf(), "application/pdf"), (b"a,b\n1,2\n", "text/csv")],
)
def test_previewable_types_are_inline(
    http: httpx.Client, content: bytes, content_type: str
) -> None:
    sha = upload(http, "/api", content, content_type).json()["sha256"]
    response = http.get(f"/api/blobs/{sha}")
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["content-disposition"].startswith("inline;")
    # Framed by this site's pages only.
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_bad_input_is_refused_and_stores_nothing(world: World, http: httpx.Client) -> None:
    before = stored_files(world.blobs)
    bad_sha = http.get("/api/blobs/not-a-hash")
    assert bad_sha.status_code == 422
    assert bad_sha.json()["exception_detail"][0]["loc"] == ["path", "sha256"]
    upper = http.get("/api/blobs/" + "A" * 64)
    assert upper.status_code == 422
    unknown = http.get("/api/blobs/" + "0" * 64)
    assert unknown.status_code == 404

    empty = upload(http, "/api", b"", "text/plain")
    assert empty.status_code == 422
    assert empty.json()["exception_detail"][0]["loc"] == ["body"]

    bad_type = upload(http, "/api", b"data", "not a type")
    assert bad_type.status_code == 422
    assert bad_type.json()["exception_detail"][0]["loc"] == ["content_type"]

    bad_name = upload(http, "/api", b"data", "text/plain", filename="a\x01b")
    assert bad_name.status_code == 422
    assert bad_name.json()["exception_detail"][0]["loc"] == ["query", "filename"]

    unknown_ws = upload(http, "/api/accounts/acme/workspaces/nope", b"data", "text/plain")
    assert unknown_ws.status_code == 404
    assert stored_files(world.blobs) == before
    assert staged_files(world.blobs) == []


def test_the_file_name_is_a_base_name(http: httpx.Client) -> None:
    response = http.post(
        "/api/blobs",
        content=b"name test",
        headers={"Content-Type": "text/plain", "X-Filename": "../../etc/passwd"},
    )
    assert response.json()["filename"] == "passwd"
    got = http.get(response.json()["url"])
    assert got.headers["content-disposition"] == 'inline; filename="passwd"'
