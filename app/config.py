"""Settings, read once from environment variables prefixed ``RECTRACK_``."""

from datetime import date, time
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.secrets import weakness
from app.local_secret import development_secret

DEFAULT_DATABASE_URL = "sqlite:///./rectrack.db"


# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). A
# write holds SQLite's write lock (or its row locks) from its first statement to its commit, and
# gives the GIL up at every statement; with the event loop busy answering reads, each time back
# waited up to the whole interval, and every writer queued behind that stretched transaction.
# At 1 ms, the 90/10 read/write mix at scale L answered about 8% more requests a second on
# SQLite and the writes alone about as many or more (docs/benchmarks.md, tenth round).
GIL_SWITCH_INTERVAL_S = 0.001
# How many more container objects than were freed a process makes before the collector's
# youngest pass (Python's default: 700). An answer computed again after a write (a list, a
# summary) holds thousands alive while it is built, and at 700 each was walked in pass after
# pass while it lived: in the 90/10 mix at scale L on PostgreSQL the collector took 129 to 176
# ms of every 10 s in 350 to 440 passes; at 10,000, 2 ms in one (docs/benchmarks.md, twentieth
# round). Most objects are freed by their reference counts long before.
YOUNG_OBJECTS_A_COLLECTION = 10_000


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
    # A target date may be at most this many years after the report was received.
    target_date_horizon_years: int = Field(default=10, ge=1, le=100)

    # Requests
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Report imports: a published PDF may be larger than other bodies; reading it is bounded too.
    import_max_bytes: int = Field(default=20_971_520, ge=1024)
    pdf_max_pages: int = Field(default=300, ge=1, le=10_000)
    pdf_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    # Server
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: str = "info"
    # Keys API keys' hashes: changing it invalidates every API key.
    secret_key: SecretStr | None = None
    # Let requests without a key read (never write): for dashboards on a trusted network.
    anonymous_reads: bool = False

    # Webhooks: seconds before each attempt, comma-separated (the first is the first attempt's).
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    # CIDRs endpoints may resolve to beside public addresses, e.g. "10.0.0.0/8,127.0.0.0/8".
    webhook_allowed_networks: str = ""
    webhook_timeout_seconds: float = Field(default=15.0, ge=10.0, le=30.0)
    # How long a rotated-out secret keeps signing beside the new one.
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0.0, le=24.0 * 30)
    # The worker: how often it looks for work, and how long its lease lasts unrenewed
    # (a killed worker's deliveries are free for another once it runs out).
    worker_poll_seconds: float = Field(default=1.0, gt=0.0, le=60.0)
    worker_lease_seconds: float = Field(default=15.0, ge=2.0, le=600.0)

    # Reminders: when the worker runs them each day (in RECTRACK_TIMEZONE), and their rules.
    reminder_time: time = time(8, 0)
    reminder_due_soon_working_days: str = "5,1"
    reminder_stale_days: int = Field(default=30, ge=1, le=3650)
    # Reminder emails, e.g. smtp://user:password@mail.example.org:587 (smtps:// for TLS).
    smtp_url: SecretStr | None = None
    smtp_from: str = "rectrack@localhost"

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    # Browser sessions (the dashboard's sign-in): how long one lasts, and whether to believe a
    # proxy's X-Forwarded-Proto when deciding that the browser reached us over HTTPS.
    session_hours: int = Field(default=8, ge=1, le=24 * 30)
    trust_forwarded_proto: bool = False

    # When set, GET /metrics needs "Authorization: Bearer <this>".
    metrics_token: SecretStr | None = None

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> "Settings":
        if self.environment != "production":
            return self
        if not self.secret_key:
            raise ValueError("RECTRACK_SECRET_KEY must be set when RECTRACK_ENVIRONMENT=production")
        weak = weakness(self.secret_key.get_secret_value())
        if weak:
            raise ValueError(
                f"RECTRACK_SECRET_KEY {weak}: generate one, for instance with "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

    @property
    def key_secret(self) -> str:
        """The secret that keys API-key hashes; in development without one, a generated one."""
        if self.secret_key:
            return self.secret_key.get_secret_value()
        return development_secret(self.database_url)

    @property
    def retry_schedule(self) -> tuple[int, ...]:
        from app.domain.webhook_delivery import parse_schedule

        return parse_schedule(self.webhook_retry_schedule)

    @property
    def allowed_networks(self):
        from app.domain.webhook_urls import parse_networks

        return parse_networks(self.webhook_allowed_networks)

    @property
    def due_soon_reminder_days(self) -> tuple[int, ...]:
        return tuple(sorted({int(p) for p in self.reminder_due_soon_working_days.split(",") if p.strip()}))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
