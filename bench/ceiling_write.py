"""The write ceiling: a minimal FastAPI app that posts a progress update in five Core statements.

    BENCH_CEILING_DATABASE_URL=sqlite:///w.db BENCH_CEILING_KEY=rtk_... \\
        uvicorn --factory bench.ceiling_write:app_from_environment --host 127.0.0.1 --port 8002

``POST /api/v1/recommendations/{id}/progress-updates`` (the real path, so wrk sends the
very same requests as in scenario (f)) validates the same JSON body with pydantic, looks the
bearer key's HMAC up in memory (as the API does between its key re-reads), then in one
transaction on the application's own engine (``create_db_engine``: the same pool, SQLite
pragmas, ``BEGIN IMMEDIATE`` and writer queue) runs five SQLAlchemy Core statements: lock the
item, insert the update, update the owner's status, bump the item's version and status, insert
an audit row; and answers 201 with the new row. A sync route, so one hop to a worker thread.
No middleware, no idempotency record, no logging, no metrics. Its process hands the GIL over
as the API's worker processes do (``app.config.GIL_SWITCH_INTERVAL_S``): like for like.

Its tables (``bench_ceiling_*``) live beside the portfolio's in the same database; ``prepare``
makes them, with the items and owners of the plan's lines (``POST <id> <code>``), before the
server starts.
"""

import hashlib
import hmac
import json
import os
import secrets
import sys
from datetime import UTC, datetime
from enum import StrEnum

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from app.config import GIL_SWITCH_INTERVAL_S, Settings
from app.db.engine import create_db_engine
from app.db.sessions import writers

metadata = MetaData()
item = Table(
    "bench_ceiling_item", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False, default=1),
    Column("status", String(32), nullable=False, default="not_started"),
    Column("updated_at", DateTime(timezone=True)),
)  # fmt: skip
owner = Table(
    "bench_ceiling_owner", metadata,
    Column("item_id", ForeignKey("bench_ceiling_item.id"), primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("status", String(32), nullable=False, default="not_started"),
)  # fmt: skip
progress = Table(
    "bench_ceiling_update", metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", ForeignKey("bench_ceiling_item.id"), nullable=False, index=True),
    Column("code", String(32), nullable=False),
    Column("author", String(200), nullable=False),
    Column("narrative", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)  # fmt: skip
audit = Table(
    "bench_ceiling_audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("action", String(64), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("after", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)  # fmt: skip


class OwnerStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    implemented = "implemented"


class ProgressIn(BaseModel):
    organisation_code: str = Field(min_length=1, max_length=32)
    author: str = Field(min_length=1, max_length=200)
    narrative: str = Field(min_length=1, max_length=20_000)
    status: OwnerStatus


def key_hash(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def prepare(database_url: str, plan_path: str) -> None:
    """The tables, and an item with its owners for every line of the plan."""
    engine = create_db_engine(Settings(database_url=database_url), pooled=False)
    try:
        metadata.drop_all(engine, checkfirst=True)
        metadata.create_all(engine)
        pairs = set()
        with open(plan_path) as lines:
            for line in lines:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "POST":
                    pairs.add((int(parts[1]), parts[2]))
        ids = sorted({item_id for item_id, _ in pairs})
        with writers(engine).begin() as connection:
            connection.execute(insert(item), [{"id": i, "version": 1, "status": "not_started"} for i in ids])
            connection.execute(
                insert(owner), [{"item_id": i, "code": c, "status": "not_started"} for i, c in pairs]
            )
    finally:
        engine.dispose()


def create_app(database_url: str, key: str) -> FastAPI:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as app.main's lifespan does for the API
    secret = secrets.token_bytes(32)
    keys = {key_hash(secret, key): "bench"}
    engine = create_db_engine(Settings(database_url=database_url))
    write_engine = writers(engine)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/api/v1/recommendations/{item_id}/progress-updates", status_code=201)
    def post_update(item_id: int, body: ProgressIn, authorization: str = Header("")) -> dict:
        if key_hash(secret, authorization.removeprefix("Bearer ")) not in keys:
            raise HTTPException(401)
        now = datetime.now(UTC)
        with write_engine.begin() as connection:
            version = connection.execute(
                select(item.c.version).where(item.c.id == item_id).with_for_update()
            ).scalar_one_or_none()
            if version is None:
                raise HTTPException(404)
            row = {"item_id": item_id, "code": body.organisation_code, "author": body.author,
                   "narrative": body.narrative, "status": body.status.value, "created_at": now}  # fmt: skip
            new_id = connection.execute(insert(progress).values(row).returning(progress.c.id)).scalar_one()
            connection.execute(
                update(owner)
                .where(owner.c.item_id == item_id, owner.c.code == body.organisation_code)
                .values(status=body.status.value)
            )
            connection.execute(
                update(item)
                .where(item.c.id == item_id)
                .values(version=version + 1, status=body.status.value, updated_at=now)
            )
            after = {**row, "id": new_id, "created_at": now.isoformat()}
            connection.execute(
                insert(audit).values(
                    action="progress.create", entity_id=new_id, after=json.dumps(after), created_at=now
                )
            )
        return after

    @app.get("/readyz")
    @app.get("/healthz")
    def ready() -> dict:
        with engine.connect() as connection:
            connection.execute(select(1))
        return {"status": "ready"}

    return app


def app_from_environment() -> FastAPI:
    return create_app(os.environ["BENCH_CEILING_DATABASE_URL"], os.environ["BENCH_CEILING_KEY"])


def drop(database_url: str) -> None:
    engine = create_db_engine(Settings(database_url=database_url), pooled=False)
    try:
        metadata.drop_all(engine, checkfirst=True)
    finally:
        engine.dispose()
