"""Each organisation's line of the portfolio summary as of today or later, kept per process and
brought up to date by reading again only the organisations that writes touched since.

A line counts the organisation's owner rows by owner status (``owner_status_tally``) and those
overdue on the day (``owner_due_tally``), with its code and name. Every write that changes an
organisation's tally rows touches its current figures (``scopes.organisation_figures``) in the
write's own transaction, and a change of code or name, or a new or deleted organisation,
touches ``ORGANISATIONS`` (``app.domain.scopes``). So a line read when the organisation's
figures had version ``v`` is still the line while that version is ``v``, on the same day, and
while neither ``ORGANISATIONS`` nor ``EVERYTHING`` has moved: a progress update that restates
a status leaves every line as it was. The versions are read before the lines: a
write committed in between can only make a line newer than the version it is kept with, and
that line is read again next time.

After a write on one recommendation the portfolio summary reads its owners' lines again,
not the 400 of a large portfolio.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select, true

from app.domain import scopes
from app.models import Organisation, OwnerDueTally, OwnerStatusTally
from app.schemas.summaries import OrganisationBreakdown, OwnerStatusCounts
from app.services import change_scopes
from app.services.as_of import AsOf

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


@dataclass(frozen=True)
class _Kept:
    day: date
    counter: int  # the newest audit id when the versions were read
    floor: tuple[int, int]  # EVERYTHING's and ORGANISATIONS' versions
    versions: dict[int, int]  # every organisation's figures' version when its line was read
    lines: dict[int, OrganisationBreakdown]


class OrganisationLines:
    """The lines of one database's organisations, kept between portfolio summaries. Safe to
    share between threads: each call works on the kept state it started from and replaces
    it whole (one assignment)."""

    def __init__(self) -> None:
        self._kept: _Kept | None = None

    def current(self, connection: Connection, as_of: AsOf) -> list[OrganisationBreakdown]:
        """Every organisation's line as of ``as_of`` (today or later), in code order."""
        kept = self._kept
        if kept is None or kept.day != as_of.day:
            kept = self._read_all(connection, as_of.day)
        else:
            kept = self._brought_up_to_date(connection, kept)
        self._kept = kept
        return in_code_order(kept.lines.values())

    def _read_all(self, connection: Connection, day: date) -> _Kept:
        ids = list(connection.execute(select(_ORGANISATION.c.id)).scalars())
        counter, floor, versions = _versions(connection, ids)
        return _Kept(day, counter, floor, versions, tallied_lines(connection, day))

    def _brought_up_to_date(self, connection: Connection, kept: _Kept) -> _Kept:
        counter, floor, versions = _versions(connection, kept.versions)
        if counter < kept.counter or floor != kept.floor:
            return self._read_all(connection, kept.day)  # organisations came, went or were renamed
        moved = {i for i, version in versions.items() if version != kept.versions[i]}
        if not moved:
            return _Kept(kept.day, counter, floor, kept.versions, kept.lines)
        lines = {i: line for i, line in kept.lines.items() if i not in moved}
        lines.update(tallied_lines(connection, kept.day, sorted(moved)))
        return _Kept(kept.day, counter, floor, versions, lines)


def _versions(
    connection: Connection, organisation_ids: Iterable[int]
) -> tuple[int, tuple[int, int], dict[int, int]]:
    """The newest audit id, EVERYTHING's and ORGANISATIONS' versions, and each organisation's
    figures' (0 for those never touched), in one statement (``change_scopes.versions_sql``)."""
    ids = list(organisation_ids)
    names = [scopes.EVERYTHING, scopes.ORGANISATIONS, *(scopes.organisation_figures(i) for i in ids)]
    found = {scope: version or 0 for scope, version in change_scopes.read_versions(connection, names)}
    floor = (found.get(scopes.EVERYTHING, 0), found.get(scopes.ORGANISATIONS, 0))
    versions = {i: found.get(scopes.organisation_figures(i), 0) for i in ids}
    return found.get(scopes.PORTFOLIO, 0), floor, versions
