"""Every RUNFOLIO_* setting, declared once: name, type, default and help.

`Settings()` reads the environment; tests pass values explicitly instead
(`Settings(home=tmp_path)`). A bad value fails with `SettingsError` naming the
variable and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runfolio.errors import SettingsError

MIB = 1024 * 1024
#: The most server worker processes `server start` runs (more is a configuration mistake).
MAX_SERVER_WORKERS = 64


class Settings(BaseSettings):
    """runfolio's settings; each field is read from `RUNFOLIO_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="RUNFOLIO_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path("~/.runfolio"),
        description="Folder holding the embedded SQLite database (runfolio.db).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default sqlite:///$RUNFOLIO_HOME/runfolio.db.",
    )
    api_url: str | None = Field(
        default=None,
        description="URL of a runfolio server's API (e.g. http://127.0.0.1:4200/api). "
        "When set, the SDK and CLI talk HTTP to it; when unset they use the embedded store.",
    )
    api_key: str | None = Field(
        default=None, description="Sent as `Authorization: Bearer <key>` to the server."
    )
    server_auth_string: SecretStr | None = Field(
        default=None,
        description="A `user:password` the server accepts as HTTP Basic credentials with "
        "admin rights in every workspace (what Prefect's client sends from "
        "PREFECT_API_AUTH_STRING). Setting it turns authentication on.",
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="Comma-separated host names the server answers to (others get 400, "
        "which stops DNS rebinding); `*` allows any. Default: the loopback names when "
        "`server start` binds a loopback address, else any.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 90, description="How long a UI sign-in lasts, hours."
    )
    server_host: str = Field(default="127.0.0.1", description="Address `server start` binds.")
    server_port: int = Field(default=4200, ge=1, le=65535, description="Port `server start` binds.")
    server_workers: int = Field(
        default=1,
        ge=1,
        le=MAX_SERVER_WORKERS,
        description="Server processes `server start` runs on its one port, all on the same "
        "database (each with its own connection pool).",
    )
    db_pool_size: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Connections each process (each server worker) keeps to a non-SQLite "
        "database, and as many again under load; a server on PostgreSQL keeps up to this "
        "many more for artifact creates: N workers open up to 3 × N × this, which must "
        "stay under the database's connection limit.",
    )
    max_body_bytes: int = Field(
        default=10 * MIB,
        ge=1024,
        description="Largest request body the server accepts (413 past it).",
    )
    blob_dir: Path | None = Field(
        default=None,
        description="Folder of the blob store (uploaded images and files, one file per "
        "SHA-256); default $RUNFOLIO_HOME/blobs. The server and the embedded store must "
        "use the same folder.",
    )
    blob_max_bytes: int = Field(
        default=100 * MIB,
        ge=1,
        description="Largest uploaded blob (image or file) accepted, bytes (413 past it).",
    )
    default_limit: int = Field(
        default=200, ge=1, le=10_000, description="Default and maximum `limit` of filter routes."
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite's `synchronous` pragma. NORMAL: a commit survives a crash of the "
        "process, but a power loss or OS crash may drop the last commits. FULL: every "
        "acknowledged commit also survives a power loss (each commit waits for fsync).",
    )
    write_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds a server write waits for the database's write lock (held by "
        "another process or a long write) before answering 503 with Retry-After.",
    )
    strict_artifact_data: bool = Field(
        default=False,
        description="Refuse (422) artifact data that does not fit its known type (markdown, "
        "image and html not a string, table not a table, progress not a number in 0-100, "
        "chart not a JSON object). Off by "
        "default: like the protocol's server, any JSON is stored for any type.",
    )
    live_streams: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Live page streams (Server-Sent Events) each server process serves at "
        "once; past it a page is answered 503 and polls instead.",
    )
    retention_interval: float = Field(
        default=3600.0,
        ge=0,
        le=7 * 24 * 3600,
        description="Seconds between the server's retention passes, which delete the "
        "artifact versions their retention policies no longer keep; 0 turns them off "
        "(`runfolio gc` still runs one by hand).",
    )
    http_timeout: float = Field(default=30.0, gt=0, description="HTTP client timeout, seconds.")
    http_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of reads on connection errors and 5xx."
    )
    http_write_timeout: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="Seconds an SDK write waits for the server before it is queued in the "
        "outbox instead (delivered in the background).",
    )
    outbox_drain_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Seconds the end of a flow waits for the outbox to be delivered; what "
        "is left is delivered by the next runfolio process or `runfolio outbox flush`.",
    )
    outbox_max_bytes: int = Field(
        default=256 * MIB,
        ge=64 * 1024,
        description="Largest size of the outbox file (outbox.db in RUNFOLIO_HOME); a write "
        "that would pass it is an error, nothing is dropped.",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds a webhook call may take before it fails."
    )
    webhook_retry_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Wait before a failed webhook call is tried again; doubled at each "
        "failure (up to an hour between tries).",
    )
    webhook_retry_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="How long a webhook delivery is retried before it is marked failed.",
    )
    webhook_max_attempts: int = Field(
        default=30, ge=1, le=1000, description="Most calls made for one webhook delivery."
    )
    webhook_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each server process looks for webhook deliveries that are due.",
    )
    webhook_log_days: float = Field(
        default=30.0,
        gt=0,
        le=3650,
        description="Days a delivered or failed webhook delivery stays in the delivery log.",
    )
    webhook_allow_private: bool = Field(
        default=True,
        description="Whether webhooks may call loopback, private and link-local addresses "
        "(127.0.0.1, 10.x, 192.168.x, 169.254.x, ...). On by default, for receivers on the "
        "same machine or network; turn it off when workspace admins are not trusted with "
        "the server's network position.",
    )

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def allowed_host_list(self) -> list[str] | None:
        """The hosts the server answers to; None: any (no check)."""
        if self.allowed_hosts is None:
            return None
        hosts = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        return None if not hosts or "*" in hosts else hosts

    def resolved_blob_dir(self) -> Path:
        """The blob store's folder in force: the explicit one, else under `home`."""
        return self.blob_dir.expanduser() if self.blob_dir else self.home / "blobs"

    def resolved_database_url(self) -> str:
        """The database URL in force: the explicit one, else the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'runfolio.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a bad value into a `SettingsError` that names it.

    The overrides are unvalidated input, like the environment: the settings check them.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"RUNFOLIO_{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"Invalid setting: {problems}") from None
