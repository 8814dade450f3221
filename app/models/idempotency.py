from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST carrying an Idempotency-Key, replayed to its retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        CheckConstraint("state IN ('in_progress', 'committed', 'done')", name="state_valid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A hash of the caller's credentials: keys are scoped to the API key that sent them.
    scope: str = Field(max_length=64)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    # in_progress: being handled; committed: the write is committed; done: the answer is stored.
    state: str = Field(max_length=16)
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_type=Text)
    response_headers: dict | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
