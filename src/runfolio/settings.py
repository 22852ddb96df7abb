"""Every RUNFOLIO_* setting, declared once: name, type, default and help.

`Settings()` reads the environment; tests pass values explicitly instead
(`Settings(home=tmp_path)`). A bad value fails with `SettingsError` naming the
variable and the reason.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runfolio.errors import SettingsError

MIB = 1024 * 1024


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
    server_host: str = Field(default="127.0.0.1", description="Address `server start` binds.")
    server_port: int = Field(default=4200, ge=1, le=65535, description="Port `server start` binds.")
    max_body_bytes: int = Field(
        default=10 * MIB,
        ge=1024,
        description="Largest request body the server accepts (413 past it).",
    )
    default_limit: int = Field(
        default=200, ge=1, le=10_000, description="Default and maximum `limit` of filter routes."
    )
    http_timeout: float = Field(default=30.0, gt=0, description="HTTP client timeout, seconds.")
    http_retries: int = Field(
        default=3, ge=0, le=10, description="Retries on connection errors and 5xx answers."
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

    def resolved_database_url(self) -> str:
        """The database URL in force: the explicit one, else the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'runfolio.db'}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a bad value into a `SettingsError` that names it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"RUNFOLIO_{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"Invalid setting: {problems}") from None
