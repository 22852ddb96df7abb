"""The blob store's rows and files: uploads through the operations, and the collection of
blobs no artifact refers to (`delete_unreferenced`), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from runfolio.errors import Forbidden, Invalid, NotFound, TooLarge
from runfolio.ops import Caller, Context, create_artifact
from runfolio.ops import blobs as blob_ops
from runfolio.ops.access import Principal, Role
from runfolio.schemas.artifacts import ArtifactCreate
from runfolio.settings import Settings
from runfolio.store import blobs as blob_store
from runfolio.store.blobfiles import BlobFiles
from runfolio.store.engine import connect, read, write
from runfolio.store.tables import DEFAULT_WORKSPACE_ID, blobs
from tests.workspaces import create_workspaces

LIMIT = 64 * 1024


@dataclass
class Store:
    default: Context
    other: Context
    files: BlobFiles


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    engine = connect(settings.resolved_database_url())
    create_workspaces(engine, "acme/other")
    files = BlobFiles(settings.resolved_blob_dir(), LIMIT)
    other = Context(engine, Caller(account="acme", workspace="other"))
    yield Store(Context(engine), other, files)
    engine.dispose()


def upload(ctx: Context, files: BlobFiles, data: bytes, kind: str = "text/plain") -> str:
    return blob_ops.upload_blob(ctx, files, io.BytesIO(data), kind, "f.txt").sha256


def age(files: BlobFiles, sha: str, hours: float) -> None:
    """Make a blob's file look `hours` old (its row's age is set separately)."""
    past = time.time() - hours * 3600
    os.utime(files.path_of(sha), (past, past))


def row_count(ctx: Context) -> int:
    with read(ctx.db) as conn:
        return int(conn.execute(select(func.count()).select_from(blobs)).scalar_one())


def test_upload_read_and_dedupe(store: Store) -> None:
    data = b"hello blob"
    sha = upload(store.default, store.files, data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert upload(store.default, store.files, data) == sha
    assert upload(store.other, store.files, data) == sha
    assert row_count(store.default) == 2  # one per workspace
    assert [p.name for p in store.files.root.rglob(sha)] == [sha]  # one file
    blob, path = blob_ops.read_blob(store.default, store.files, sha)
    assert (blob.size, blob.content_type, blob.filename) == (len(data), "text/plain", "f.txt")
    assert path.read_bytes() == data


def test_refusals_change_nothing(store: Store) -> None:
    with pytest.raises(TooLarge, match=str(LIMIT)):
        upload(store.default, store.files, b"x" * (LIMIT + 1))
    with pytest.raises(Invalid, match="empty"):
        upload(store.default, store.files, b"")
    with pytest.raises(Invalid, match="content_type"):
        blob_ops.upload_blob(store.default, store.files, io.BytesIO(b"x"), "nonsense")
    reader = Context(
        store.default.db, Caller(principal=Principal(name="reader", everywhere=Role.READ))
    )
    with pytest.raises(Forbidden):
        upload(reader, store.files, b"not allowed")
    assert row_count(store.default) == 0
    assert list(store.files.files()) == []
    assert list((store.files.root / "tmp").iterdir()) == []
    with pytest.raises(NotFound):
        blob_ops.read_blob(store.default, store.files, hashlib.sha256(b"not allowed").hexdigest())


def test_delete_unreferenced(store: Store) -> None:
    ctx, files = store.default, store.files
    kept_by_image = upload(ctx, files, b"image bytes")
    kept_by_markdown = upload(ctx, files, b"markdown bytes")
    kept_by_file = upload(ctx, files, b"file bytes")
    dropped = upload(ctx, files, b"nobody refers to me")
    shared = upload(ctx, files, b"in two workspaces")
    assert upload(store.other, files, b"in two workspaces") == shared
    young = upload(ctx, files, b"just uploaded")
    for kind, data in (
        ("image", f"/api/blobs/{kept_by_image}"),
        ("markdown", f"# plot\n![p](runfolio-blob:{kept_by_markdown})"),
        ("file", {"sha256": kept_by_file, "url": f"/api/blobs/{kept_by_file}"}),
        # Refers to `shared` in the other workspace only: the default one's row goes.
        ("markdown", f"![s](runfolio-blob:{shared})"),
    ):
        target = store.other if data == f"![s](runfolio-blob:{shared})" else ctx
        create_artifact(target, ArtifactCreate(type=kind, data=data))
    # Everything but `young` is older than the grace period.
    with write(ctx.db) as conn:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        conn.execute(blobs.update().where(blobs.c.sha256 != young).values(created=past))
    for sha in (kept_by_image, kept_by_markdown, kept_by_file, dropped, shared):
        age(files, sha, 2)

    with write(ctx.db) as conn:
        count, freed = blob_store.delete_unreferenced(conn, files)
    assert count == 2  # `dropped`, and the default workspace's row of `shared`
    assert freed == len(b"nobody refers to me")  # `shared` is still held by the other
    with pytest.raises(NotFound):
        blob_ops.read_blob(ctx, files, dropped)
    with pytest.raises(NotFound):
        blob_ops.read_blob(ctx, files, shared)
    assert blob_ops.read_blob(store.other, files, shared)[1].exists()
    for sha in (kept_by_image, kept_by_markdown, kept_by_file, young):
        assert blob_ops.read_blob(ctx, files, sha)[1].exists()
    assert not files.path_of(dropped).exists()

    # A second pass finds nothing more; one scoped to a workspace only looks there.
    with write(ctx.db) as conn:
        assert blob_store.delete_unreferenced(conn, files) == (0, 0)
    elsewhere = upload(store.other, files, b"unreferenced in the other workspace")
    age(files, elsewhere, 2)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with write(ctx.db) as conn:
        scoped = blob_store.delete_unreferenced(
            conn, files, workspace_id=DEFAULT_WORKSPACE_ID, older_than=later
        )
    assert scoped == (1, len(b"just uploaded"))  # `young`, now old enough; not `elsewhere`
    assert blob_ops.read_blob(store.other, files, elsewhere)[1].exists()
    with write(ctx.db) as conn:
        everywhere = blob_store.delete_unreferenced(conn, files, older_than=later)
    assert everywhere == (1, len(b"unreferenced in the other workspace"))


def test_files_no_row_holds_go_after_the_grace_period(store: Store) -> None:
    ctx, files = store.default, store.files
    orphan = upload(ctx, files, b"orphan")
    with write(ctx.db) as conn:  # as if its row had been deleted, or never written
        conn.execute(blobs.delete().where(blobs.c.sha256 == orphan))
    with write(ctx.db) as conn:
        assert blob_store.delete_unreferenced(conn, files) == (0, 0)  # too young
    age(files, orphan, 2)
    stale = files.root / "tmp" / "upload-dead"
    stale.write_bytes(b"half an upload")
    past = time.time() - 7200
    os.utime(stale, (past, past))
    with write(ctx.db) as conn:
        assert blob_store.delete_unreferenced(conn, files) == (0, len(b"orphan") + 14)
    assert not files.path_of(orphan).exists()
    assert not stale.exists()
