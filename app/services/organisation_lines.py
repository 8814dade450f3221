"""Each organisation's line of the portfolio summary as of today or later, kept per process
(``app.services.kept_parts``) and brought up to date by reading again only the organisations
that writes touched since.

A line counts the organisation's owner rows by owner status (``owner_status_tally``) and those
overdue on the day (``owner_due_tally``), with its code and name. Every write that changes an
organisation's tally rows touches its current figures (``scopes.organisation_figures``) in the
write's own transaction, and a change of code or name, or a new or deleted organisation,
touches ``ORGANISATIONS`` (``app.domain.scopes``): a progress update that restates a status
leaves every line as it was."""

from collections.abc import Collection, Iterable
from datetime import date

from sqlalchemy import Connection, func, select, true

from app.domain import scopes
from app.models import Organisation, OwnerDueTally, OwnerStatusTally
from app.schemas.summaries import OrganisationBreakdown, OwnerStatusCounts
from app.services.kept_parts import KeptParts

_ORGANISATION = Organisation.__table__
_STATUSES = OwnerStatusTally.__table__
_DUE = OwnerDueTally.__table__


def tallied_lines(
    connection: Connection, day: date, organisation_ids: Collection[int] | None = None
) -> dict[int, OrganisationBreakdown]:
    """The lines as of ``day`` (today or later) of the organisations named, or of every one,
    by id: only organisations owning anything have one."""
    some = organisation_ids is not None
    overdue = dict(
        connection.execute(
            select(_DUE.c.organisation_id, func.sum(_DUE.c.n))
            .where(_DUE.c.due_date < day, _DUE.c.n != 0)
            .where(_DUE.c.organisation_id.in_(organisation_ids) if some else true())
            .group_by(_DUE.c.organisation_id)
        ).all()
    )
    rows = connection.execute(
        select(
            _ORGANISATION.c.id,
            _ORGANISATION.c.code,
            _ORGANISATION.c.name,
            _STATUSES.c.owner_status,
            _STATUSES.c.n,
        )
        .join(_STATUSES, _STATUSES.c.organisation_id == _ORGANISATION.c.id)
        .where(_STATUSES.c.n != 0)
        .where(_STATUSES.c.organisation_id.in_(organisation_ids) if some else true())
    )
    found: dict[int, dict] = {}
    for organisation_id, code, name, owner_status, n in rows:
        entry = found.setdefault(organisation_id, {"code": code, "name": name, "by_status": {}})
        entry["by_status"][owner_status] = n
    return {
        organisation_id: OrganisationBreakdown(
            organisation_id=organisation_id,
            code=entry["code"],
            name=entry["name"],
            recommendations=sum(entry["by_status"].values()),
            by_status=OwnerStatusCounts(**entry["by_status"]),
            overdue=overdue.get(organisation_id, 0),
        )
        for organisation_id, entry in found.items()
    }


def in_code_order(lines: Iterable[OrganisationBreakdown]) -> list[OrganisationBreakdown]:
    return sorted(lines, key=lambda line: line.code)


def kept_lines() -> KeptParts[OrganisationBreakdown]:
    """Every organisation's line, kept between portfolio summaries: its code and name are in it,
    so a change of any organisation's (``ORGANISATIONS``) has every line read again."""
    return KeptParts("organisation", tallied_lines, also_moved_by=[scopes.ORGANISATIONS])
