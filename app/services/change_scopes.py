"""The scopes a write touches (rules in ``app.domain.scopes``), found and recorded in the
write's own transaction, and read back for cached answers."""

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select, text, union
from sqlmodel import Session

from app.domain import scopes
from app.models import Recommendation, RecommendationOwner, ReportActionPlanOrganisation

_RECOMMENDATION = Recommendation.__table__
_OWNER = RecommendationOwner.__table__
_ACTION_PLAN = ReportActionPlanOrganisation.__table__


def of_recommendation(session: Session, recommendation_id: int) -> scopes.Scopes:
    """The scopes of a change to the recommendation as it stands in the session (ask before a
    change of owners or a deletion too: the owners it had are touched as well)."""
    rows = session.execute(
        select(_RECOMMENDATION.c.report_id, _OWNER.c.organisation_id)
        .select_from(_RECOMMENDATION.outerjoin(_OWNER, _OWNER.c.recommendation_id == _RECOMMENDATION.c.id))
        .where(_RECOMMENDATION.c.id == recommendation_id)
    ).all()
    if not rows:
        return frozenset()
    return scopes.recommendation_change(
        recommendation_id=recommendation_id,
        report_id=rows[0].report_id,
        owner_ids=[row.organisation_id for row in rows if row.organisation_id is not None],
    )


def of_report(session: Session, report_id: int) -> scopes.Scopes:
    """The scopes of a change to the report as it stands in the session (ask before a change of
    its action-plan organisations too)."""
    recommendation_ids = session.execute(
        select(_RECOMMENDATION.c.id).where(_RECOMMENDATION.c.report_id == report_id)
    ).scalars()
    organisation_ids = session.execute(
        union(
            select(_OWNER.c.organisation_id)
            .join(_RECOMMENDATION, _OWNER.c.recommendation_id == _RECOMMENDATION.c.id)
            .where(_RECOMMENDATION.c.report_id == report_id),
            select(_ACTION_PLAN.c.organisation_id).where(_ACTION_PLAN.c.report_id == report_id),
        )
    ).scalars()
    return scopes.report_change(
        report_id=report_id,
        recommendation_ids=list(recommendation_ids),
        organisation_ids=list(organisation_ids),
    )


def of_organisation(organisation_id: int) -> scopes.Scopes:
    return scopes.organisation_change(organisation_id)


# A scope's row moved on to a newer version, made when the scope is first touched.
ON_CONFLICT_MOVE_ON = "ON CONFLICT (scope) DO UPDATE SET version = excluded.version"
_TOUCH = text(f"INSERT INTO scope_version (scope, version) VALUES (:scope, :version) {ON_CONFLICT_MOVE_ON}")


def kept(touched: Iterable[str]) -> list[str]:
    """The touched scopes that have a row of their own, in the order writers lock them:
    PORTFOLIO's version is the newest audit event id itself."""
    return sorted(set(touched) - {scopes.PORTFOLIO})


def touch(connection: Connection, touched: Iterable[str], version: int) -> None:
    """Move the scopes on to ``version`` (the id of the write's audit event)."""
    rows = [{"scope": scope, "version": version} for scope in kept(touched)]
    if rows:
        connection.execute(_TOUCH, rows)


def versions_sql(count: int, *, dialect: str, array_parameter: str = "%s") -> str:
    """PORTFOLIO's version (the newest audit id) and those of the named scopes ever touched, in
    one statement on the audit id and the scope primary key. On PostgreSQL the names are one
    array parameter (one statement text, whatever their number), ``array_parameter`` as the
    driver writes it; on SQLite, ``count`` of them."""
    named = (
        f"= ANY({array_parameter})" if dialect == "postgresql" else "IN (" + ", ".join(["?"] * count) + ")"
    )
    return (
        f"SELECT '{scopes.PORTFOLIO}', max(id) FROM audit_event "
        f"UNION ALL SELECT scope, version FROM scope_version WHERE scope {named}"
    )


def asked(wanted: Iterable[str]) -> tuple[str, ...]:
    """The scope names to look up for answers reading ``wanted``: EVERYTHING always."""
    return tuple(sorted(set(wanted) - {scopes.PORTFOLIO} | {scopes.EVERYTHING}))


def read_versions(connection: Connection, names: Sequence[str]) -> list[tuple[str, int | None]]:
    """The (scope, version) rows of ``versions_sql`` for ``names``: PORTFOLIO's, and those of
    the named scopes ever touched."""
    dialect = connection.dialect.name
    return connection.exec_driver_sql(
        versions_sql(len(names), dialect=dialect), (list(names),) if dialect == "postgresql" else tuple(names)
    ).all()


def answer_version(connection: Connection, wanted: frozenset[str]) -> int:
    """The tag of an answer reading ``wanted`` (see ``app.domain.scopes.answer_version``)."""
    return tag(wanted, read_versions(connection, asked(wanted)))


def tag(wanted: Iterable[str], rows: Iterable) -> int:
    """The tag from (scope, version) rows of ``versions_sql``."""
    versions = {scope: version or 0 for scope, version in rows}
    return scopes.answer_version(wanted, versions, versions.get(scopes.PORTFOLIO, 0))
