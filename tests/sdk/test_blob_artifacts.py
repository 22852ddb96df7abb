"""Image and file artifacts that upload their bytes, on both transports: the embedded
store (writes the blob folder itself) and HTTP to a real server (streams the upload)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from runfolio.artifacts import (
    acreate_file_artifact,
    acreate_image_artifact,
    create_file_artifact,
    create_image_artifact,
)
from runfolio.client import RunfolioClient, client_for, reset_client, use_client
from runfolio.errors import Invalid
from runfolio.schemas.bodies import ArtifactCountBody
from runfolio.settings import Settings
from tests.blob_samples import FakeFigure, FakePilImage, pdf, png
from tests.servers import ServerProcess, running_server

SERVER_LIMIT = 512 * 1024


@pytest.fixture(scope="module")
def blob_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("blob-sdk-server")
    with running_server(home, {"RUNFOLIO_BLOB_MAX_BYTES": str(SERVER_LIMIT)}) as proc:
        yield proc


@dataclass
class Sdk:
    client: RunfolioClient
    blob_dir: Path
    server: ServerProcess | None

    def read(self, url: str) -> bytes:
        """The bytes behind a blob URL an artifact stores."""
        if self.server is None:
            sha = url.rsplit("/", 1)[1]
            return (self.blob_dir / sha[:2] / sha[2:4] / sha).read_bytes()
        response = httpx.get(self.server.url + url, timeout=10)
        assert response.status_code == 200, response.text
        return response.content

    def files(self) -> list[Path]:
        return [p for p in self.blob_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"]

    def count(self) -> int:
        return self.client.count_artifacts(ArtifactCountBody())


@pytest.fixture(params=["embedded", "http"])
def sdk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sdk]:
    """The SDK's client on a fresh embedded store, or on the module's real server."""
    server: ServerProcess | None = None
    if request.param == "embedded":
        settings = Settings(home=tmp_path / "home", api_url=None, blob_max_bytes=SERVER_LIMIT)
        blob_dir = settings.resolved_blob_dir()
    else:
        server = request.getfixturevalue("blob_server")
        settings = Settings(home=tmp_path / "home", api_url=server.api_url, http_retries=1)
        blob_dir = server.home / "blobs"
    client = client_for(settings)
    use_client(client)
    yield Sdk(client, blob_dir, server)
    reset_client()


def test_image_from_bytes_path_pil_and_figure(sdk: Sdk, tmp_path: Path) -> None:
    data = png(3, 3, (1, 2, 3))
    path = tmp_path / "plot.png"
    path.write_bytes(png(8, 2, (9, 9, 9)))
    pil, figure = FakePilImage(), FakeFigure()
    sources: list[tuple[object, bytes]] = [
        (data, data),
        (path, path.read_bytes()),
        (pil, png(5, 5, pil.rgb)),
        (figure, png(6, 4, figure.rgb)),
    ]
    for source, expected in sources:
        artifact_id = create_image_artifact(source, key="uploaded-image")
        stored = sdk.client.read_artifact(artifact_id)
        assert stored.type == "image"
        sha = hashlib.sha256(expected).hexdigest()
        assert stored.data == f"/api/blobs/{sha}"
        assert sdk.read(stored.data) == expected
    assert pil.formats == ["PNG"] and figure.formats == ["png"]
    # The keyword form, and a URL as before (nothing uploaded).
    by_keyword = create_image_artifact(image=data, key="uploaded-image")
    assert sdk.client.read_artifact(by_keyword).data.endswith(hashlib.sha256(data).hexdigest())
    by_url = create_image_artifact("https://example.com/p.png", key="url-image")
    assert sdk.client.read_artifact(by_url).data == "https://example.com/p.png"


def test_a_real_pil_image(sdk: Sdk) -> None:
    image = Image.new("RGB", (13, 7), (250, 100, 0))
    stored = sdk.client.read_artifact(create_image_artifact(image, key="pil"))
    with Image.open(io.BytesIO(sdk.read(stored.data))) as loaded:
        assert (loaded.format, loaded.size) == ("PNG", (13, 7))
        assert loaded.convert("RGB").getpixel((6, 3)) == (250, 100, 0)


def test_the_same_bytes_are_stored_once(sdk: Sdk) -> None:
    data = png(2, 2, (4, 5, 6))
    before = len(sdk.files())
    first = create_image_artifact(data)
    second = create_file_artifact(data, filename="again.png")
    assert len(sdk.files()) == before + 1
    url = sdk.client.read_artifact(first).data
    assert sdk.client.read_artifact(second).data["url"] == url


def test_file_artifacts(sdk: Sdk, tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(pdf("report"))
    for source in (report, str(report)):
        artifact_id = create_file_artifact(source, key="report", description="The report")
        stored = sdk.client.read_artifact(artifact_id)
        assert stored.type == "file"
        sha = hashlib.sha256(report.read_bytes()).hexdigest()
        assert stored.data == {
            "sha256": sha,
            "filename": "report.pdf",
            "content_type": "application/pdf",
            "size": report.stat().st_size,
            "url": f"/api/blobs/{sha}",
        }
        assert sdk.read(stored.data["url"]) == report.read_bytes()
    raw = create_file_artifact(b"col\n1\n", filename="numbers.csv", content_type="text/csv")
    data = sdk.client.read_artifact(raw).data
    assert (data["filename"], data["content_type"], data["size"]) == ("numbers.csv", "text/csv", 6)
    unnamed = sdk.client.read_artifact(create_file_artifact(b"\x00\x01")).data
    assert (unnamed["filename"], unnamed["content_type"]) == (None, "application/octet-stream")
    with report.open("rb") as opened:
        from_file = sdk.client.read_artifact(create_file_artifact(opened)).data
    assert from_file["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()


def test_async_twins(sdk: Sdk) -> None:
    async def publish() -> tuple[uuid.UUID, uuid.UUID]:
        image = await acreate_image_artifact(png(1, 1), key="async-image")
        file = await acreate_file_artifact(b"async bytes", filename="a.txt", key="async-file")
        return image, file

    image_id, file_id = asyncio.run(publish())
    image = sdk.client.read_artifact(image_id)
    file = sdk.client.read_artifact(file_id)
    assert sdk.read(image.data) == png(1, 1)
    assert sdk.read(file.data["url"]) == b"async bytes"


def test_bad_input_is_a_clear_error_and_creates_nothing(sdk: Sdk, tmp_path: Path) -> None:
    before, files_before = sdk.count(), len(sdk.files())
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        create_file_artifact(missing)
    with pytest.raises(FileNotFoundError, match="folder"):
        create_file_artifact(tmp_path)
    with pytest.raises(ValueError, match="PNG, JPEG, GIF or WebP"):
        create_image_artifact(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(TypeError, match="one image"):
        create_image_artifact("https://example.com/a.png", image=png())
    with pytest.raises(TypeError, match="one image"):
        create_image_artifact()
    with pytest.raises(TypeError, match="Cannot upload a int"):
        create_file_artifact(42)
    with pytest.raises(Invalid, match="empty"):
        create_file_artifact(b"")
    with pytest.raises(Invalid, match=str(SERVER_LIMIT)):
        create_file_artifact(b"x" * (SERVER_LIMIT + 1))
    assert sdk.count() == before
    assert len(sdk.files()) == files_before
