"""Settings, read once from environment variables prefixed ``RECTRACK_``."""

from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./rectrack.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECTRACK_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    # Connections kept open, and opened beyond those under load (closed again after use).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=60000)

    # Deadlines
    due_soon_working_days: int = Field(default=10, ge=0, le=260)
    # Operator-declared non-working days added to every calendar, e.g. a
    # one-off holiday announced after the holiday library was released:
    # RECTRACK_EXTRA_NON_WORKING_DAYS='{"2027-01-04": "Local closure"}'
    extra_non_working_days: dict[date, str] = Field(default_factory=dict)
    timezone: str = "Europe/London"

    # Requests
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Server
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: str = "info"
    # Keys API keys' hashes: changing it invalidates every API key.
    secret_key: SecretStr | None = None
    # Let requests without a key read (never write): for dashboards on a trusted network.
    anonymous_reads: bool = False

    # Browser sessions (the dashboard's sign-in): how long one lasts, and whether to believe a
    # proxy's X-Forwarded-Proto when deciding that the browser reached us over HTTPS.
    session_hours: int = Field(default=8, ge=1, le=24 * 30)
    trust_forwarded_proto: bool = False

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> "Settings":
        if self.environment == "production" and not (
            self.secret_key and len(self.secret_key.get_secret_value()) >= 32
        ):
            raise ValueError(
                "RECTRACK_SECRET_KEY must be set to at least 32 characters "
                "when RECTRACK_ENVIRONMENT=production"
            )
        return self

    @property
    def key_secret(self) -> str:
        return self.secret_key.get_secret_value() if self.secret_key else ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
