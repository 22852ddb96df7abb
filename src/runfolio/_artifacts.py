"""The artifact functions and classes behind `runfolio.artifacts` (their public home)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from os import PathLike
from typing import Any, ClassVar, ParamSpec, TypeVar

from pydantic import ConfigDict, PrivateAttr, field_validator

from runfolio import _encoding, _uploads
from runfolio._dispatch import Dual as _Dual
from runfolio._dispatch import DualClassMethod as _DualClassMethod
from runfolio._dispatch import dual as _dual
from runfolio._dispatch import dual_classmethod as _dual_classmethod
from runfolio.client import RunfolioClient
from runfolio.client import get_client as _get_client
from runfolio.context import current_run_ids
from runfolio.context import flow_run_context as _flow_run_context
from runfolio.errors import NotFound
from runfolio.schemas.appends import RowsAppend
from runfolio.schemas.artifacts import Artifact as _ArtifactRecord
from runfolio.schemas.artifacts import ArtifactContent, ArtifactCreate, ArtifactUpdate
from runfolio.schemas.common import new_id

# An image: a URL (str), or what `runfolio._uploads` uploads (bytes, a path, a PIL
# image, a matplotlib figure: the last two are recognised by their methods, so Any).
ImageSource = str | bytes | PathLike[str] | Any
_P = ParamSpec("_P")
_T = TypeVar("_T")


async def _to_thread(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    # asyncio is imported here, not at the top: an async caller has it loaded already,
    # and a script that only creates artifacts should not pay for it on import.
    import asyncio

    return await asyncio.to_thread(call, *args, **kwargs)


def _client(client: RunfolioClient | None = None) -> RunfolioClient:
    if client is not None:
        return client
    flow_ctx = _flow_run_context.get()
    return flow_ctx.client if flow_ctx is not None else _get_client()


class _Unset:
    """Marks a field `update()` leaves as it is (None would clear it)."""

    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Any = _Unset()


class StoredArtifact(_ArtifactRecord):
    """A stored artifact version, as `Artifact.create()` and `Artifact.get()` return it.

    `update()` changes it in place (no new version); the fields given are written.
    """

    model_config = ConfigDict(ignored_types=(_Dual,))
    _client: RunfolioClient | None = PrivateAttr(default=None)

    @classmethod
    def _of(cls, record: _ArtifactRecord, client: RunfolioClient | None) -> StoredArtifact:
        stored = cls.model_construct(_fields_set=record.model_fields_set, **dict(record))
        stored._client = client
        return stored

    def __eq__(self, other: object) -> bool:
        # Equal to the stored version it holds, whichever client it was read through.
        if isinstance(other, _ArtifactRecord):
            return dict(self) == dict(other)
        return NotImplemented

    def __getstate__(self) -> dict[Any, Any]:
        # Pickled (for a task on another worker, say) without the client it was read
        # through: a connection pool cannot travel; `update()` there uses that run's client.
        state = super().__getstate__()
        return {**state, "__pydantic_private__": {"_client": None}}

    def _changes(self, data: Any, description: Any, metadata_: Any) -> ArtifactUpdate:
        fields: dict[str, Any] = {}
        if data is not _UNSET:
            # A table is stored as its JSON string, as create_table_artifact sends it.
            is_structure = not isinstance(data, str) and data is not None
            fields["data"] = (
                _encoding.table_json(data) if self.type == "table" and is_structure else data
            )
        if description is not _UNSET:
            fields["description"] = description
        if metadata_ is not _UNSET:
            fields["metadata_"] = metadata_
        return ArtifactUpdate(**fields)

    def _applied(self, update: ArtifactUpdate) -> None:
        for name in update.model_fields_set:
            setattr(self, name, getattr(update, name))

    async def aupdate(
        self,
        data: Any = _UNSET,
        description: str | None = _UNSET,
        metadata_: dict[str, str] | None = _UNSET,
        client: RunfolioClient | None = None,
    ) -> None:
        """Change this version in place (async); only the fields given are written."""
        update = self._changes(data, description, metadata_)
        await _to_thread(_client(client or self._client).update_artifact, self.id, update)
        self._applied(update)

    @_dual(aupdate)
    def update(
        self,
        data: Any = _UNSET,
        description: str | None = _UNSET,
        metadata_: dict[str, str] | None = _UNSET,
        client: RunfolioClient | None = None,
    ) -> None:
        """Change this version in place (no new version); only the fields given are written.

        For a table, `data` may be the table itself (it is encoded as create does).
        """
        update = self._changes(data, description, metadata_)
        _client(client or self._client).update_artifact(self.id, update)
        self._applied(update)


# The content fields sent as they are (data is encoded; run ids default to the context's).
_PLAIN_CONTENT = set(ArtifactContent.model_fields) - {"data", "flow_run_id", "task_run_id"}


class Artifact(ArtifactContent):
    """An artifact to publish. `create()` stores it; `get(key)` reads the latest version."""

    # The sync/async adapters on the class are its methods, not fields.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, ignored_types=(_Dual, _DualClassMethod)
    )

    _default_type: ClassVar[str | None] = None

    def model_post_init(self, __context: Any) -> None:
        if self.type is None and self._default_type is not None:
            self.type = self._default_type

    def format(self) -> Any:
        """The data as sent on the wire (the base class JSON-encodes it into a string)."""
        return _encoding.generic_json(self.data)

    async def aformat(self) -> Any:
        return self.format()

    def _action(self) -> ArtifactCreate:
        flow_run_id, task_run_id = current_run_ids()
        return ArtifactCreate(
            **self.model_dump(include=_PLAIN_CONTENT),
            id=new_id(),
            data=self.format(),
            flow_run_id=self.flow_run_id or flow_run_id,
            task_run_id=self.task_run_id or task_run_id,
        )

    def _create(self, client: RunfolioClient | None = None) -> StoredArtifact:
        return StoredArtifact._of(_client(client).create_artifact(self._action()), client)

    def _create_id(self) -> uuid.UUID:
        """Store this artifact; only its id (the `create_*_artifact` functions return no
        more, so the stored version is not copied into a `StoredArtifact`)."""
        return _client().create_artifact(self._action()).id

    async def acreate(self, client: RunfolioClient | None = None) -> StoredArtifact:
        """Store this artifact (async)."""
        action = self._action()  # encode and pick up the run context in the caller's task
        stored = await _to_thread(_client(client).create_artifact, action)
        return StoredArtifact._of(stored, client)

    @_dual(acreate)
    def create(self, client: RunfolioClient | None = None) -> StoredArtifact:
        """Store this artifact; returns the stored version (with its id and times)."""
        return self._create(client)

    @classmethod
    def _get(
        cls, key: str | None = None, client: RunfolioClient | None = None
    ) -> StoredArtifact | None:
        target = _client(client)
        if key is None:
            # Loaded on use: the filter and sort schemas are not needed to create artifacts.
            from runfolio.schemas.bodies import ArtifactFilterBody
            from runfolio.schemas.sorting import ArtifactSort

            found = target.filter_artifacts(
                ArtifactFilterBody(sort=ArtifactSort.UPDATED_DESC, limit=1)
            )
            return StoredArtifact._of(found[0], client) if found else None
        try:
            return StoredArtifact._of(target.read_latest_artifact(key), client)
        except NotFound:
            return None

    @classmethod
    async def aget(
        cls, key: str | None = None, client: RunfolioClient | None = None
    ) -> StoredArtifact | None:
        """The latest version of `key`, or None (async)."""
        return await _to_thread(cls._get, key, client)

    @_dual_classmethod(aget)
    @classmethod
    def get(
        cls, key: str | None = None, client: RunfolioClient | None = None
    ) -> StoredArtifact | None:
        """The latest version of `key`, or None (no key: the most recently updated artifact)."""
        return cls._get(key, client)

    @classmethod
    def _get_or_create(
        cls,
        key: str | None = None,
        description: str | None = None,
        data: Any = None,
        client: RunfolioClient | None = None,
        **kwargs: Any,
    ) -> tuple[StoredArtifact, bool]:
        found = cls._get(key, client)
        if found is not None:
            return found, False
        new = cls(key=key, description=description, data=data, **kwargs)
        return new._create(client), True

    @classmethod
    async def aget_or_create(
        cls,
        key: str | None = None,
        description: str | None = None,
        data: Any = None,
        client: RunfolioClient | None = None,
        **kwargs: Any,
    ) -> tuple[StoredArtifact, bool]:
        """`get(key)`, or create it when nothing is stored (async). Returns (artifact, created)."""
        return await _to_thread(
            lambda: cls._get_or_create(key, description, data, client, **kwargs)
        )

    @_dual_classmethod(aget_or_create)
    @classmethod
    def get_or_create(
        cls,
        key: str | None = None,
        description: str | None = None,
        data: Any = None,
        client: RunfolioClient | None = None,
        **kwargs: Any,
    ) -> tuple[StoredArtifact, bool]:
        """`get(key)`, or create it when nothing is stored. Returns (artifact, created)."""
        return cls._get_or_create(key, description, data, client, **kwargs)


class LinkArtifact(Artifact):
    _default_type: ClassVar[str | None] = "markdown"
    link: str
    link_text: str | None = None

    def format(self) -> str:
        return _encoding.link_markdown(self.link, self.link_text)


class MarkdownArtifact(Artifact):
    _default_type: ClassVar[str | None] = "markdown"
    markdown: str

    def format(self) -> str:
        return self.markdown


class TableArtifact(Artifact):
    _default_type: ClassVar[str | None] = "table"
    table: Any

    @field_validator("table")
    @classmethod
    def _table(cls, value: Any) -> Any:
        _encoding.table_json(value)  # refuse unsupported shapes and unencodable values now
        return value

    def format(self) -> str:
        return _encoding.table_json(self.table)


class ProgressArtifact(Artifact):
    _default_type: ClassVar[str | None] = "progress"
    progress: float

    @field_validator("progress", mode="before")
    @classmethod
    def _progress(cls, value: Any) -> float:
        return _encoding.progress_value(value)

    def format(self) -> float:
        return self.progress


class ImageArtifact(Artifact):
    _default_type: ClassVar[str | None] = "image"
    image_url: str

    def format(self) -> str:
        return self.image_url


# -- the functions ------------------------------------------------------------------


async def acreate_link_artifact(
    link: str,
    link_text: str | None = None,
    key: str | None = None,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Publish a link (stored as the markdown `[link_text](link)`). Returns the artifact id."""
    new = LinkArtifact(key=key, description=description, link=link, link_text=link_text)
    return (await new.acreate(client)).id


@_dual(acreate_link_artifact)
def create_link_artifact(
    link: str,
    link_text: str | None = None,
    key: str | None = None,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Publish a link (stored as the markdown `[link_text](link)`). Returns the artifact id."""
    new = LinkArtifact(key=key, description=description, link=link, link_text=link_text)
    return new._create(client).id


async def acreate_markdown_artifact(
    markdown: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a markdown report. Returns the artifact id."""
    return (
        await MarkdownArtifact(key=key, description=description, markdown=markdown).acreate()
    ).id


@_dual(acreate_markdown_artifact)
def create_markdown_artifact(
    markdown: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a markdown report. Returns the artifact id."""
    return MarkdownArtifact(key=key, description=description, markdown=markdown)._create_id()


async def acreate_table_artifact(
    table: Any, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a table: a list of dicts, a dict of lists, a list of lists or a DataFrame."""
    return (await TableArtifact(key=key, description=description, table=table).acreate()).id


@_dual(acreate_table_artifact)
def create_table_artifact(
    table: Any, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a table: a list of dicts, a dict of lists, a list of lists or a DataFrame."""
    return TableArtifact(key=key, description=description, table=table)._create_id()


async def acreate_progress_artifact(
    progress: float, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a progress value in [0, 100] (clamped with a warning). Returns its id."""
    return (
        await ProgressArtifact(key=key, description=description, progress=progress).acreate()
    ).id


@_dual(acreate_progress_artifact)
def create_progress_artifact(
    progress: float, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Publish a progress value in [0, 100] (clamped with a warning). Returns its id."""
    return ProgressArtifact(key=key, description=description, progress=progress)._create_id()


def _image_url(image_url: ImageSource | None, image: ImageSource | None) -> str:
    """The URL an image artifact stores: the one given, or that of the uploaded image."""
    if (image_url is None) == (image is None):
        raise TypeError(
            "Give one image: a URL (image_url=...) or the image itself (image=... or "
            "positionally: bytes, a pathlib.Path, a PIL image or a matplotlib figure)."
        )
    source = image if image is not None else image_url
    if isinstance(source, str):
        return source
    return _uploads.upload(_client(), source, text_is_path=False, image=True)[0].url


async def acreate_image_artifact(
    image_url: ImageSource | None = None,
    key: str | None = None,
    description: str | None = None,
    *,
    image: ImageSource | None = None,
) -> uuid.UUID:
    """Publish an image: a URL, or the image itself (bytes, a `pathlib.Path`, a PIL image
    or a matplotlib figure), uploaded to the blob store of the workspace and stored as
    the URL of that blob. Returns the artifact's id."""
    url = await _to_thread(_image_url, image_url, image)
    return (await ImageArtifact(key=key, description=description, image_url=url).acreate()).id


@_dual(acreate_image_artifact)
def create_image_artifact(
    image_url: ImageSource | None = None,
    key: str | None = None,
    description: str | None = None,
    *,
    image: ImageSource | None = None,
) -> uuid.UUID:
    """Publish an image: a URL, or the image itself (bytes, a `pathlib.Path`, a PIL image
    or a matplotlib figure), uploaded to the blob store of the workspace and stored as
    the URL of that blob. Returns the artifact's id."""
    url = _image_url(image_url, image)
    return ImageArtifact(key=key, description=description, image_url=url)._create_id()


def _progress_update(progress: float, description: str | None) -> ArtifactUpdate:
    value = _encoding.progress_value(progress)
    if description:
        return ArtifactUpdate(data=value, description=description)
    return ArtifactUpdate(data=value)


async def aupdate_progress_artifact(
    artifact_id: uuid.UUID,
    progress: float,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Set a progress artifact's value in place (no new version). Returns `artifact_id`."""
    update = _progress_update(progress, description)
    await _to_thread(_client(client).update_artifact, artifact_id, update)
    return artifact_id


@_dual(aupdate_progress_artifact)
def update_progress_artifact(
    artifact_id: uuid.UUID,
    progress: float,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Set a progress artifact's value in place (no new version). Returns `artifact_id`."""
    _client(client).update_artifact(artifact_id, _progress_update(progress, description))
    return artifact_id


# -- updates in place (no new version) ----------------------------------------------


def _update(
    artifact_id: uuid.UUID, update: ArtifactUpdate, client: RunfolioClient | None
) -> uuid.UUID:
    _client(client).update_artifact(artifact_id, update)
    return artifact_id


async def _aupdate(
    artifact_id: uuid.UUID, update: ArtifactUpdate, client: RunfolioClient | None
) -> uuid.UUID:
    await _to_thread(_client(client).update_artifact, artifact_id, update)
    return artifact_id


def _markdown_update(markdown: str, description: str | None) -> ArtifactUpdate:
    if description is not None:
        return ArtifactUpdate(data=markdown, description=description)
    return ArtifactUpdate(data=markdown)


async def aupdate_markdown_artifact(
    artifact_id: uuid.UUID,
    markdown: str,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Rewrite a markdown artifact in place (no new version). Returns `artifact_id`."""
    return await _aupdate(artifact_id, _markdown_update(markdown, description), client)


@_dual(aupdate_markdown_artifact)
def update_markdown_artifact(
    artifact_id: uuid.UUID,
    markdown: str,
    description: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Rewrite a markdown artifact in place (no new version); the description too when
    given. Returns `artifact_id`."""
    return _update(artifact_id, _markdown_update(markdown, description), client)


async def aupdate_link_artifact(
    artifact_id: uuid.UUID,
    link: str,
    link_text: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Point a link artifact elsewhere in place (no new version). Returns `artifact_id`."""
    update = ArtifactUpdate(data=_encoding.link_markdown(link, link_text))
    return await _aupdate(artifact_id, update, client)


@_dual(aupdate_link_artifact)
def update_link_artifact(
    artifact_id: uuid.UUID,
    link: str,
    link_text: str | None = None,
    client: RunfolioClient | None = None,
) -> uuid.UUID:
    """Point a link artifact elsewhere in place (no new version). Returns `artifact_id`."""
    update = ArtifactUpdate(data=_encoding.link_markdown(link, link_text))
    return _update(artifact_id, update, client)


async def aupdate_image_artifact(
    artifact_id: uuid.UUID, image_url: str, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Swap an image artifact's URL in place (no new version). Returns `artifact_id`."""
    return await _aupdate(artifact_id, ArtifactUpdate(data=image_url), client)


@_dual(aupdate_image_artifact)
def update_image_artifact(
    artifact_id: uuid.UUID, image_url: str, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Swap an image artifact's URL in place (no new version). Returns `artifact_id`."""
    return _update(artifact_id, ArtifactUpdate(data=image_url), client)


async def aupdate_table_artifact(
    artifact_id: uuid.UUID, table: Any, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Replace a table artifact's whole table in place (no new version; rows appended to
    the old table are dropped). Returns `artifact_id`."""
    update = ArtifactUpdate(data=_encoding.table_json(table))
    return await _aupdate(artifact_id, update, client)


@_dual(aupdate_table_artifact)
def update_table_artifact(
    artifact_id: uuid.UUID, table: Any, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Replace a table artifact's whole table in place (no new version; rows appended to
    the old table are dropped). Returns `artifact_id`."""
    return _update(artifact_id, ArtifactUpdate(data=_encoding.table_json(table)), client)


async def aappend_table_rows(
    artifact_id: uuid.UUID, rows: Any, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Add rows at the end of a table artifact without sending the table again (async)."""
    # A fresh id per call: a retry or an outbox redelivery of it is stored once.
    action = RowsAppend(id=new_id(), rows=_encoding.table_rows(rows))
    await _to_thread(_client(client).append_table_rows, artifact_id, action)
    return artifact_id


@_dual(aappend_table_rows)
def append_table_rows(
    artifact_id: uuid.UUID, rows: Any, client: RunfolioClient | None = None
) -> uuid.UUID:
    """Add rows at the end of a table artifact without sending the table again: dicts
    with the table's columns (a table of dicts), lists as long as its rows (a table of
    lists), or a DataFrame. No new version; `updated` moves. Returns `artifact_id`."""
    # A fresh id per call: a retry or an outbox redelivery of it is stored once.
    action = RowsAppend(id=new_id(), rows=_encoding.table_rows(rows))
    _client(client).append_table_rows(artifact_id, action)
    return artifact_id
