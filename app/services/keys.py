"""API keys: made, shown once, stored as a keyed hash, listed, revoked."""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.db.sessions import session_scope
from app.domain.access import Actor
from app.domain.status import Role
from app.errors import InvalidInput, NotFound
from app.models import ApiKey
from app.services import audit
from app.services.organisations import find_by_code
from app.services.paging import fetch_page

log = logging.getLogger("rectrack.auth")

KEY_PREFIX = "rtk"
# last_used_at is refreshed at most this often, so polling does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str, secret: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def _new_key() -> tuple[str, str]:
    """(public prefix, full key): 'rtk_<8 hex>_<43 url-safe chars>' carries 256 random bits."""
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(4)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


NAME_MAX_LENGTH = 100  # the column's


def create_key(
    session: Session,
    *,
    actor: Actor,
    name: str,
    role: Role,
    organisation_code: str | None,
    secret: str,
    now: datetime,
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is never stored and cannot be shown again."""
    if not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"A key's name is 1 to {NAME_MAX_LENGTH} characters.")
    organisation_id = None
    if role is Role.EDITOR:
        if not organisation_code:
            raise InvalidInput("An editor key is bound to one organisation: give its code.")
        organisation = find_by_code(session, organisation_code)
        if organisation is None:
            raise InvalidInput(f"No organisation has the code {organisation_code!r}.")
        organisation_id = organisation.id
    elif organisation_code:
        raise InvalidInput(f"Only editor keys are bound to an organisation, not {role} keys.")
    prefix, key = _new_key()
    api_key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_key(key, secret),
        role=role,
        organisation_id=organisation_id,
        created_at=now,
    )
    session.add(api_key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="api_key",
        entity_id=api_key.id,
        now=now,
        after=audit.snapshot(api_key, exclude={"key_hash"}),
    )
    session.commit()
    return api_key, key


def authenticate(session: Session, *, presented: str, secret: str) -> ApiKey | None:
    """The active key matching ``presented``, or None."""
    if not presented.startswith(f"{KEY_PREFIX}_") or len(presented) > 100:
        return None
    return session.exec(
        select(ApiKey).where(ApiKey.key_hash == hash_key(presented, secret), ApiKey.revoked_at.is_(None))
    ).first()


def find_active(session: Session, key_id: int) -> ApiKey | None:
    """The key with this id, unless it has been revoked."""
    return session.exec(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))).first()


def touch(session: Session, *, api_key_id: int, now: datetime) -> None:
    session.exec(update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=now))
    session.commit()


KeyUsageRecorder = Callable[[int, datetime], None]


def usage_recorder(engine: Engine) -> KeyUsageRecorder:
    """Records a key's last use on a connection of its own, outside the request's transaction."""

    def record(api_key_id: int, now: datetime) -> None:
        try:
            with session_scope(engine) as session:
                touch(session, api_key_id=api_key_id, now=now)
        except OperationalError:
            log.info("last_used_at not updated for key %s: database busy", api_key_id)

    return record


def list_keys(session: Session, *, limit: int, offset: int) -> tuple[list[ApiKey], int]:
    return fetch_page(session, select(ApiKey), order_by=[ApiKey.id], limit=limit, offset=offset)


def get_key(session: Session, key_id: int) -> ApiKey:
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound(f"API key {key_id} does not exist.")
    return api_key


def names(session: Session, key_ids: set[int]) -> dict[int, str]:
    """The names of these keys, by id: who made a decision or changed a date."""
    if not key_ids:
        return {}
    return dict(session.exec(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(sorted(key_ids)))).all())


def revoke_key(session: Session, *, actor: Actor, api_key: ApiKey, now: datetime) -> ApiKey:
    if api_key.revoked_at is None:
        before = audit.snapshot(api_key, exclude={"key_hash"})
        api_key.revoked_at = now
        session.add(api_key)
        audit.record(
            session,
            actor=actor,
            action="revoke",
            entity="api_key",
            entity_id=api_key.id,
            now=now,
            before=before,
            after=audit.snapshot(api_key, exclude={"key_hash"}),
        )
        session.commit()
    return api_key


def has_active_admin(session: Session) -> bool:
    return (
        session.exec(
            select(ApiKey.id).where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None)).limit(1)
        ).first()
        is not None
    )
