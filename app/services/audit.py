"""The audit trail: one event per write, in the write's own transaction."""

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BindParameter, Connection, TextClause, bindparam, insert, text
from sqlmodel import Session, select

from app.db import statements
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
) -> int | None:
    """Append an audit event, and answer its id; it commits (or rolls back) with the write it
    describes.

    Core statements on the session's connection, not an ORM object: every write makes one.
    ``scopes`` are the scopes the write touches (``app.services.change_scopes``); they move on
    to the event's id. Left out, they follow ``app.domain.scopes.unplaced_change``.

    In a session that holds its events back (``HeldEvent``) the event is written later, by the
    statement that ends the transaction, and its id is not known here (None).
    """
    touched = unplaced_change(entity) if scopes is None else frozenset(scopes)
    connection = session.connection()
    values = {
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
    }
    if connection.dialect.name == "postgresql":
        parameters = values | {"scopes": change_scopes.kept(touched)}
        held: HeldEvent | None = session.info.get(HELD_IN)
        if held is not None:
            held.hold(connection, parameters)
            return None
        return _write_in_turn(connection, parameters)
    # SQLite's writers take turns already (BEGIN IMMEDIATE).
    event_id = connection.execute(_INSERT_EVENT, values).inserted_primary_key[0]
    change_scopes.touch(connection, touched, event_id)
    return event_id


_INSERT_EVENT = insert(AuditEvent.__table__)
_COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns if c.name != "id")

# Audit event ids are the change feed's cursor, so they must be handed out in commit order.
# On PostgreSQL a transaction-scoped advisory lock (held until commit; taken again by a
# transaction that holds it already, for its next event) is taken before the event gets its
# id, which the insert's reading of ``feed`` ensures. Lock, event and scopes in one statement:
# one round trip where they took three (docs/benchmarks.md, sixteenth round).
_FEED_LOCK = 73012018
_EVENT_PARAMETERS = tuple(bindparam(name, type_=AuditEvent.__table__.c[name].type) for name in _COLUMNS)


def in_turn(then: str, *parameters: BindParameter) -> TextClause:
    """The statement that appends an event in its turn (its parameters are ``record``'s and the
    scopes'), ending in ``then``: ``SELECT id FROM event``, or a statement of another table that
    reads ``event`` so that it runs once the event is in."""
    return text(
        f"""WITH feed AS MATERIALIZED (SELECT pg_advisory_xact_lock({_FEED_LOCK})),
event AS (
    INSERT INTO audit_event ({", ".join(_COLUMNS)})
    SELECT {", ".join(f":{name}" for name in _COLUMNS)} FROM feed
    RETURNING id
),
touched AS (
    INSERT INTO scope_version (scope, version)
    SELECT scope, event.id FROM event, unnest(CAST(:scopes AS varchar[])) AS scope
    {change_scopes.ON_CONFLICT_MOVE_ON}
)
{then}"""
    ).bindparams(*_EVENT_PARAMETERS, *parameters)


_RECORD_IN_TURN = in_turn("SELECT id FROM event")


def _write_in_turn(connection: Connection, parameters: dict) -> int:
    return statements.execute(connection, _RECORD_IN_TURN, parameters).scalar_one()


HELD_IN = "held_audit_event"  # a session's ``info``: the ``HeldEvent`` its events wait in


class HeldEvent:
    """A transaction's last audit event on PostgreSQL, held back to be written by the statement
    that ends the transaction (``in_turn``): an Idempotency-Key's answer (app.api.writes). One
    round trip fewer, and the change feed's lock, taken by that statement, is held until COMMIT
    for one round trip instead of three. An earlier event of the same transaction is written
    when the next one is held, in its turn."""

    def __init__(self) -> None:
        self.parameters: dict | None = None  # ``in_turn``'s parameters for the held event

    def hold(self, connection: Connection, parameters: dict) -> None:
        if self.parameters is not None:
            _write_in_turn(connection, self.parameters)
        self.parameters = parameters


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
