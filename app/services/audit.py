"""The audit trail: one event per write, in the write's own transaction."""

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, event, insert, text
from sqlmodel import Session, select

from app.domain.access import Actor
from app.domain.scopes import unplaced_change
from app.models import AuditEvent
from app.services import change_scopes
from app.services.paging import fetch_page


def snapshot(entity: BaseModel | None, *, exclude: set[str] | None = None) -> dict[str, Any] | None:
    """A JSON-ready copy of a row's fields, for the event's before and after."""
    if entity is None:
        return None
    return {k: _plain(v) for k, v in entity.model_dump(exclude=exclude or set()).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
    scopes: Iterable[str] | None = None,
) -> int:
    """Append an audit event, and answer its id; it commits (or rolls back) with the write it
    describes.

    A Core INSERT on the session's connection, not an ORM object: every write makes one.
    ``scopes`` are the scopes the write touches (``app.services.change_scopes``); they move on
    to the event's id. Left out, they follow ``app.domain.scopes.unplaced_change``.
    """
    touched = unplaced_change(entity) if scopes is None else frozenset(scopes)
    _serialise_commits(session)
    event_id = session.connection().execute(
        _INSERT_EVENT,
        {
            "occurred_at": now,
            "api_key_id": actor.api_key_id,
            "role": actor.role.value if actor.role else "anonymous",
            "organisation_id": actor.organisation_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "request_id": actor.request_id,
        },
    ).inserted_primary_key[0]
    if touched:
        change_scopes.touch(session.connection(), touched, event_id)
    return event_id


_INSERT_EVENT = insert(AuditEvent.__table__)


# Audit event ids are the change feed's cursor, so they must be handed out in
# commit order. SQLite writers already take turns (BEGIN IMMEDIATE); on
# PostgreSQL a transaction-scoped advisory lock, taken just before the event
# gets its id and held until commit, makes the others wait their turn.
_FEED_LOCK = 73012018


_TAKE_FEED_LOCK = text("SELECT pg_advisory_xact_lock(:lock)").bindparams(lock=_FEED_LOCK)


def _serialise_commits(session: Session) -> None:
    if session.info.get("feed_locked"):
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_TAKE_FEED_LOCK)
    session.info["feed_locked"] = True


def _forget_lock(session, *_args) -> None:
    session.info.pop("feed_locked", None)


for _event in ("after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _event, _forget_lock)


def list_changes(session: Session, *, after: int, limit: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(limit)
        ).all()
    )


def list_events(
    session: Session,
    *,
    entity: str | None,
    entity_id: int | None,
    action: str | None,
    api_key_id: int | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if api_key_id is not None:
        query = query.where(AuditEvent.api_key_id == api_key_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return fetch_page(session, query, order_by=[AuditEvent.id.desc()], limit=limit, offset=offset)


CHANGE_COUNTER_SQL = "SELECT max(id) FROM audit_event"


def read_change_counter(connection: Connection) -> int:
    """The change counter: the newest audit event id, which every write moves on."""
    return connection.exec_driver_sql(CHANGE_COUNTER_SQL).scalar() or 0
