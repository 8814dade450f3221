from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.domain.access import Actor
from app.domain.bounds import MAX_ID, as_id, is_number
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Organisation
from app.schemas.organisations import OrganisationCreate, OrganisationUpdate
from app.services import audit, change_scopes, recommendation_rows, versions
from app.services.paging import fetch_page


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"Organisation {organisation_id} does not exist.")
    return organisation


def find_by_code(session: Session, code: str) -> Organisation | None:
    return session.exec(select(Organisation).where(func.lower(Organisation.code) == code.lower())).first()


def find_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Organisation]:
    """The organisations that have these codes (any case), by lower-case code, in one query."""
    wanted = {code.lower() for code in codes}
    if not wanted:
        return {}
    query = select(Organisation).where(func.lower(Organisation.code).in_(wanted))
    return {organisation.code.lower(): organisation for organisation in session.exec(query)}


def resolve_organisation(session: Session, id_or_code: str) -> Organisation:
    """An organisation named by its id ("3") or its code ("MYHT", any case)."""
    if is_number(id_or_code) and as_id(id_or_code) is None:
        message = f"{id_or_code} is not an organisation id: ids are 1 to {MAX_ID}."
        raise InvalidInput(message, code="id_out_of_range")
    number = as_id(id_or_code)
    by_id = session.get(Organisation, number) if number else None
    organisation = by_id or find_by_code(session, id_or_code)
    if organisation is None:
        raise NotFound(f"No organisation has the id or code {id_or_code!r}.")
    return organisation


def resolve_codes(session: Session, codes: Sequence[str]) -> list[Organisation]:
    """Organisations for ``codes`` in the order given; every code must exist."""
    return resolve_code_lists(session, [codes])[0]


def resolve_code_lists(session: Session, lists: Sequence[Sequence[str]]) -> list[list[Organisation]]:
    """``resolve_codes`` for each list (the owners of many recommendations), in one query."""
    for codes in lists:
        if len({code.lower() for code in codes}) != len(codes):
            raise InvalidInput("An organisation is named more than once.")
    found = find_by_codes(session, [code for codes in lists for code in codes])
    for codes in lists:
        missing = [code for code in codes if code.lower() not in found]
        if missing:
            raise InvalidInput(f"Unknown organisation code(s): {', '.join(missing)}.", unknown=missing)
    return [[found[code.lower()] for code in codes] for codes in lists]


def list_organisations(
    session: Session, *, kind: str | None, limit: int, offset: int
) -> tuple[list[Organisation], int]:
    query = select(Organisation)
    if kind:
        query = query.where(Organisation.kind == kind)
    return fetch_page(session, query, order_by=[Organisation.id], limit=limit, offset=offset)


def _ensure_code_free(session: Session, code: str, *, except_id: int | None = None) -> None:
    existing = find_by_code(session, code)
    if existing is not None and existing.id != except_id:
        raise Conflict(
            f"The code {code!r} is already used by organisation {existing.id}.",
            existing_id=existing.id,
        )


def add_organisation(
    session: Session, *, actor: Actor, data: OrganisationCreate, now: datetime
) -> Organisation:
    """Stage a new organisation and its audit event without committing."""
    return add_organisations(session, actor=actor, items=[data], now=now)[0]


def add_organisations(
    session: Session, *, actor: Actor, items: Sequence[OrganisationCreate], now: datetime
) -> list[Organisation]:
    """Stage new organisations, in order, each with its audit event, without committing (the seed
    and the importer add many: one query for the codes taken, one flush)."""
    taken = find_by_codes(session, [data.code for data in items])
    seen: set[str] = set()
    for data in items:
        existing = taken.get(data.code.lower())
        if existing is not None:
            raise Conflict(
                f"The code {data.code!r} is already used by organisation {existing.id}.",
                existing_id=existing.id,
            )
        if data.code.lower() in seen:
            raise Conflict(f"The code {data.code!r} is given more than once.")
        seen.add(data.code.lower())
    created = [Organisation(**data.model_dump(), created_at=now, updated_at=now) for data in items]
    session.add_all(created)
    session.flush()
    for organisation in created:
        audit.record(
            session,
            actor=actor,
            action="create",
            entity="organisation",
            entity_id=organisation.id,
            now=now,
            after=audit.snapshot(organisation),
            scopes=change_scopes.of_organisation(organisation.id),
        )
    return created


def create_organisation(
    session: Session, *, actor: Actor, data: OrganisationCreate, now: datetime
) -> Organisation:
    organisation = add_organisation(session, actor=actor, data=data, now=now)
    session.commit()
    return organisation


def update_organisation(
    session: Session,
    *,
    actor: Actor,
    organisation: Organisation,
    data: OrganisationUpdate,
    expected_version: int,
    now: datetime,
) -> Organisation:
    before = audit.snapshot(organisation)
    versions.claim(session, organisation, expected_version)
    changes = data.changes()
    if "code" in changes:
        _ensure_code_free(session, changes["code"], except_id=organisation.id)
    for field, value in changes.items():
        setattr(organisation, field, value)
    if changes.keys() & {"code", "name"}:
        recommendation_rows.show_owner_renamed(session, organisation.id)
    organisation.updated_at = now
    session.add(organisation)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="organisation",
        entity_id=organisation.id,
        now=now,
        before=before,
        after=audit.snapshot(organisation),
        scopes=change_scopes.of_organisation(organisation.id),
    )
    session.commit()
    return organisation
