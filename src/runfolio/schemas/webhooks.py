"""Webhooks: subscriptions to artifact events, their content rules, and deliveries.

A webhook names the events it wants (`artifact.created`, `artifact.updated`,
`artifact.deleted`) and may narrow them with a key glob, a list of artifact
types and one rule on the artifact's content:

    {"kind": "table_cell", "column": "accuracy", "row": -1, "op": "<", "value": 0.9}
    {"kind": "progress_at_least", "value": 100}
    {"kind": "markdown_contains", "text": "FAILED"}

How a rule is judged against an artifact is `runfolio.store.webhook_rules`.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator

from runfolio.schemas.common import (
    NUMBER_ONLY,
    ActionModel,
    DateTime,
    Int32,
    JsonBool,
    ObjectModel,
)

Event = Literal["artifact.created", "artifact.updated", "artifact.deleted"]
ARTIFACT_EVENTS: tuple[Event, ...] = ("artifact.created", "artifact.updated", "artifact.deleted")
#: What "send test event" delivers: not an artifact event, so no webhook subscribes to it.
TEST_EVENT = "webhook.test"
# The columns' sizes.
NAME_MAX = 200
URL_MAX = 2000
PATTERN_MAX = 1000
TYPES_MAX = 20
TEXT_MAX = 1000


# What a webhook URL may be, as the OpenAPI document states it: http(s), a host name or
# IPv4 address (no user or password, no IPv6 literal), a port up to 65535, then printable
# ASCII (other characters percent-encoded).
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = r"^https?://[A-Za-z0-9._~%!$&'()*+,;=-]+(:" + _PORT + r")?([/?#][\x21-\x7e]*)?$"
_URL = re.compile(URL_PATTERN)
URL_RULE = (
    "must be an http:// or https:// URL naming a host (a name or an IPv4 address, no user "
    "or password), an optional port up to 65535, and printable ASCII after it (percent-"
    "encode other characters)"
)


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host, as `URL_PATTERN` says."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    if "@" in value.split("/", 3)[2]:
        raise ValueError("must not carry a user or password (put a token in the path instead)")
    if not _URL.fullmatch(value):
        raise ValueError(URL_RULE)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port it cannot read
    except ValueError as exc:
        raise ValueError(f"{URL_RULE} ({exc})") from None
    if not parts.hostname:
        raise ValueError(URL_RULE)
    return value


def is_private_address(host: str) -> bool:
    """Whether `host` (an IP address literal) is loopback, private, link-local or otherwise
    not a public internet address."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


Op = Literal["<", "<=", ">", ">=", "==", "!="]


class TableCellRule(ActionModel):
    """A table cell compared with a value: the cell of `column` in `row` (0 the first,
    -1 the last, as Python counts). Numbers compare as numbers, anything else as text."""

    kind: Literal["table_cell"]
    column: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)] | Int32 = Field(
        description="A column name (list of objects, object of lists) or a 0-based position."
    )
    row: Int32 = Field(default=-1, description="0-based row; negative counts from the end.")
    op: Op
    value: Annotated[float, NUMBER_ONLY] | Annotated[str, Field(max_length=TEXT_MAX)]


class ProgressAtLeastRule(ActionModel):
    """A progress artifact at or past `value` (0-100)."""

    kind: Literal["progress_at_least"]
    value: Annotated[float, Field(ge=0, le=100), NUMBER_ONLY]


class MarkdownContainsRule(ActionModel):
    """A markdown artifact whose text contains `text` (case-sensitive)."""

    kind: Literal["markdown_contains"]
    text: str = Field(min_length=1, max_length=TEXT_MAX)


Rule = Annotated[
    TableCellRule | ProgressAtLeastRule | MarkdownContainsRule, Field(discriminator="kind")
]


def _unique_events(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("lists an event twice")
    return value


class _Fields(ActionModel):
    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("events", check_fields=False)
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique_events(value)


NameField = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
UrlField = Annotated[
    str, Field(min_length=1, max_length=URL_MAX, json_schema_extra={"pattern": URL_PATTERN})
]
EventsField = Annotated[
    list[Event],
    Field(min_length=1, max_length=len(ARTIFACT_EVENTS), json_schema_extra={"uniqueItems": True}),
]
PatternField = Annotated[str, Field(min_length=1, max_length=PATTERN_MAX)]
TypesField = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(min_length=1, max_length=TYPES_MAX),
]


class WebhookCreate(_Fields):
    """A new webhook. Its signing secret is made by the server and returned once."""

    name: NameField
    url: UrlField = Field(description="http:// or https:// address the server POSTs to.")
    events: EventsField = Field(default_factory=lambda: list(ARTIFACT_EVENTS))
    key_pattern: PatternField | None = Field(
        default=None, description="A glob over artifact keys, e.g. `train-*`; unset: any."
    )
    artifact_types: TypesField | None = Field(
        default=None, description='Only artifacts of these types, e.g. ["table"]; unset: any.'
    )
    rule: Rule | None = None
    active: JsonBool = True


# Fields a webhook always has: an update may leave them out, never set them to null.
_REQUIRED = ("name", "url", "events", "active")


def _not_nullable(schema: dict[str, Any]) -> None:
    """The document says what `_no_null` checks: these fields are never null."""
    for name in _REQUIRED:
        field = schema["properties"][name]
        field.pop("default", None)
        kept = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
        if len(kept) == 1:
            field.update(kept[0])
        elif kept:
            field["anyOf"] = kept


class WebhookUpdate(_Fields):
    """Fields to change; those left out stay (`null` clears the optional filters)."""

    model_config = ConfigDict(json_schema_extra=_not_nullable)

    name: NameField | None = None
    url: UrlField | None = None
    events: EventsField | None = None
    key_pattern: PatternField | None = None
    artifact_types: TypesField | None = None
    rule: Rule | None = None
    active: JsonBool | None = None

    @field_validator(*_REQUIRED, mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        return value


class Webhook(ObjectModel):
    """A webhook as listed: never its secret."""

    id: uuid.UUID
    name: str
    url: str
    events: list[str]
    key_pattern: str | None = None
    artifact_types: list[str] | None = None
    rule: dict[str, Any] | None = None
    active: bool
    created_by: str | None = None
    created: DateTime
    updated: DateTime


class WebhookCreated(Webhook):
    """The answer to a create: the one time the secret is shown."""

    secret: str


class WebhookDelivery(ObjectModel):
    """One call of a webhook (an event), with how its delivery went."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt: DateTime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created: DateTime
    delivered: DateTime | None = None
    payload: dict[str, Any] | None = None


def private_host(url: str) -> str | None:
    """The host of `url` when it is written as a loopback or private address (an IP, or
    `localhost`); None otherwise. Names that resolve to one are caught when called."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost") or is_private_address(host):
        return host
    return None
