"""Dashboard summaries, aggregated by the database for one ``as_of`` date."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from operator import itemgetter

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func
from sqlmodel import Session, select

from app.domain.calendar import WorkingDayCalendar
from app.domain.deadlines import Rag, action_plan_state, deadline_state
from app.domain.status import Status
from app.domain.tallies import owner_answerable
from app.errors import NotFound
from app.models import (
    Organisation,
    Recommendation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
)
from app.schemas.summaries import (
    ActionPlan,
    ActionPlanStateCounts,
    OrganisationBreakdown,
    OrganisationSummary,
    OwnerStatusCounts,
    PortfolioSummary,
    RagCounts,
    ReportSummary,
    StatusCounts,
)
from app.services import as_of as sql
from app.services import report_figures
from app.services.as_of import AsOf
from app.services.calendars import calendar_for
from app.services.organisation_lines import in_code_order, kept_lines, tallied_lines
from app.services.recommendation_detail import json_array_agg, json_fields


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _recommendation_counts_query(as_of: AsOf, *where: ColumnElement) -> Select:
    status = sql.recommendation_status(as_of)
    rows = (
        select(status.label("status"), sql.rag(as_of, status).label("rag"))
        .select_from(Recommendation)
        .join(Report, Report.id == Recommendation.report_id)
        .where(*where)
        .subquery()
    )
    return select(rows.c.status, rows.c.rag, func.count()).group_by(rows.c.status, rows.c.rag)


def _recommendation_counts(session: Session, as_of: AsOf, *where: ColumnElement) -> dict:
    return _counts(session.exec(_recommendation_counts_query(as_of, *where)))


def _counts(rows: Iterable) -> dict:
    by_status: dict[str, int] = defaultdict(int)
    by_rag: dict[str, int] = defaultdict(int)
    total = 0
    for status_value, colour, count in rows:
        by_status[status_value] += count
        by_rag[colour] += count
        total += count
    done = by_status[Status.IMPLEMENTED] + by_status[Status.VERIFIED]
    return {
        "total": total,
        "by_status": StatusCounts(**by_status),
        "by_rag": RagCounts(**by_rag),
        "overdue": by_rag[Rag.RED],
        "due_soon": by_rag[Rag.AMBER],
        "implemented_or_verified_share": _share(done, total),
    }


def _owner_rows(as_of: AsOf, *where: ColumnElement):
    owner_status = sql.owner_status(as_of)
    status = sql.recommendation_status(as_of)
    return (
        select(
            RecommendationOwner.organisation_id.label("organisation_id"),
            owner_status.label("owner_status"),
            sql.owner_is_overdue(as_of, owner_status, status).label("overdue"),
        )
        .select_from(RecommendationOwner)
        .join(Recommendation, Recommendation.id == RecommendationOwner.recommendation_id)
        .join(Report, Report.id == Recommendation.report_id)
        .where(*where)
        .subquery()
    )


def _organisation_breakdown_query(as_of: AsOf, *where: ColumnElement) -> Select:
    rows = _owner_rows(as_of, *where)
    return (
        select(
            Organisation.id,
            Organisation.code,
            Organisation.name,
            rows.c.owner_status,
            rows.c.overdue,
            func.count(),
        )
        .join(rows, rows.c.organisation_id == Organisation.id)
        .group_by(Organisation.id, rows.c.owner_status, rows.c.overdue)
    )


def _organisation_breakdown(
    session: Session, as_of: AsOf, *where: ColumnElement
) -> list[OrganisationBreakdown]:
    return _breakdown(session.exec(_organisation_breakdown_query(as_of, *where)))


def _breakdown(grouped: Iterable) -> list[OrganisationBreakdown]:
    """Owners counted by (organisation id, code, name, owner status, overdue, count)."""
    breakdown: dict[int, dict] = {}
    for organisation_id, code, name, owner_status, overdue, count in grouped:
        entry = breakdown.setdefault(
            organisation_id,
            {
                "id": organisation_id,
                "code": code,
                "name": name,
                "by_status": defaultdict(int),
                "overdue": 0,
                "recommendations": 0,
            },
        )
        entry["by_status"][owner_status] += count
        entry["recommendations"] += count
        entry["overdue"] += count if overdue else 0
    return in_code_order(
        OrganisationBreakdown(
            organisation_id=e["id"],
            code=e["code"],
            name=e["name"],
            recommendations=e["recommendations"],
            by_status=OwnerStatusCounts(**e["by_status"]),
            overdue=e["overdue"],
        )
        for e in breakdown.values()
    )


def _action_plan_counts(session: Session, as_of: AsOf, *where: ColumnElement) -> ActionPlanStateCounts:
    state = sql.action_plan_state(as_of).label("state")
    rows = select(state).select_from(Report).where(*where).subquery()
    counts = session.exec(select(rows.c.state, func.count()).group_by(rows.c.state))
    return ActionPlanStateCounts(**dict(counts.all()))


def action_plan(report: Report, as_of: AsOf) -> ActionPlan:
    status = action_plan_state(
        due=report.action_plan_due_date,
        submitted=report.action_plan_submitted_date,
        today=as_of.day,
        calendar=calendar_for(report.calendar),
        due_soon_working_days=as_of.due_soon_working_days,
    )
    return ActionPlan(
        state=status.state,
        due_date=status.due_date,
        submitted_date=report.action_plan_submitted_date,
        working_days_late=status.working_days_late,
        working_days_remaining=status.working_days_remaining,
    )


@lru_cache(maxsize=32)
def _report_summary_queries(as_of: AsOf) -> tuple[Select, Select]:
    """The two queries of a report summary as of a past day, built once per day asked about:
    building and keying these statements (their as-of CASEs are large) costs more than running
    them. The report is a bound parameter."""
    in_report = Recommendation.report_id == bindparam("report_id")
    return (
        _organisation_breakdown_query(as_of, in_report),
        _recommendation_counts_query(as_of, in_report),
    )


def _report_as_of_today_query() -> Select:
    """The report (by the ``report_id`` parameter) with what its summary counts as of any day
    from today on, in one row: its recommendations grouped by stored status and due date, and
    its owners grouped by organisation, owner status, the recommendation's status and due date
    (with ``place``, the organisation's rank by code), as JSON arrays. The day asked about
    only colours these groups, so the statement does not depend on it."""
    report_id = bindparam("report_id")
    recommendation_groups = (
        select(Recommendation.status, Recommendation.due_date, func.count().label("n"))
        .where(Recommendation.report_id == report_id)
        .group_by(Recommendation.status, Recommendation.due_date)
        .subquery()
    )
    rec = recommendation_groups.c
    owner_groups = (
        select(
            RecommendationOwner.organisation_id,
            RecommendationOwner.status.label("owner_status"),
            Recommendation.status,
            Recommendation.due_date,
            func.count().label("n"),
        )
        .join(Recommendation, Recommendation.id == RecommendationOwner.recommendation_id)
        .where(Recommendation.report_id == report_id)
        .group_by(
            RecommendationOwner.organisation_id,
            RecommendationOwner.status,
            Recommendation.status,
            Recommendation.due_date,
        )
        .subquery()
    )
    placed = (
        select(
            owner_groups,
            Organisation.code,
            Organisation.name,
            func.dense_rank().over(order_by=Organisation.code).label("place"),
        )
        .join(Organisation, Organisation.id == owner_groups.c.organisation_id)
        .subquery()
    )
    own = placed.c
    return select(
        Report.id,
        Report.slug,
        Report.calendar,
        Report.action_plan_due_date,
        Report.action_plan_submitted_date,
        select(json_array_agg(json_fields(status=rec.status, due_date=rec.due_date, n=rec.n)))
        .scalar_subquery()
        .label("recommendations"),
        select(
            json_array_agg(
                json_fields(
                    place=own.place,
                    organisation_id=own.organisation_id,
                    code=own.code,
                    name=own.name,
                    owner_status=own.owner_status,
                    status=own.status,
                    due_date=own.due_date,
                    n=own.n,
                )
            )
        )
        .scalar_subquery()
        .label("owners"),
    ).where(Report.id == report_id)


REPORT_AS_OF_TODAY = _report_as_of_today_query()


def _day(value: str | date | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


@lru_cache(maxsize=4096)
def _rag(status: str, due: date | None, today: date, calendar: WorkingDayCalendar, soon_days: int) -> Rag:
    # The same (status, due date) pairs come back report after report on a day, and the
    # working-day arithmetic costs more than a lookup.
    state = deadline_state(
        due=due, status=Status(status), today=today, calendar=calendar, due_soon_working_days=soon_days
    )
    return state.rag


def report_summary_as_of_today(row, report_id: int, *, as_of: AsOf) -> ReportSummary:
    """The summary from the row ``REPORT_AS_OF_TODAY`` read (as of a day from today on); 404
    when it read none."""
    if row is None:
        raise NotFound(f"Report {report_id} does not exist.")
    calendar = calendar_for(row.calendar)

    def rag(status: str, due: date | None) -> Rag:
        return _rag(status, due, as_of.day, calendar, as_of.due_soon_working_days)

    def overdue(owner: dict) -> bool:
        due = _day(owner["due_date"])
        answerable = owner_answerable(owner["owner_status"], owner["status"])
        return due is not None and due < as_of.day and answerable

    counts = [(g["status"], rag(g["status"], _day(g["due_date"])), g["n"]) for g in row.recommendations or ()]
    owners = [
        (o["organisation_id"], o["code"], o["name"], o["owner_status"], overdue(o), o["n"])
        for o in sorted(row.owners or (), key=itemgetter("place"))
    ]
    return _report_summary(row, as_of, counts, owners)


def _report_summary(report, as_of: AsOf, counts: Iterable, breakdown: Iterable) -> ReportSummary:
    """A report summary from ``report``'s fields, its recommendations counted by (status, RAG
    colour, count) and its owners as ``_breakdown`` takes them: the one shape of every path."""
    return ReportSummary(
        report_id=report.id,
        slug=report.slug,
        as_of=as_of.day,
        action_plan=action_plan(report, as_of),
        organisations=_breakdown(breakdown),
        **_counts(counts),
    )


def _report_summary_as_of_today(connection: Connection, report_id: int, as_of: AsOf) -> ReportSummary:
    row = connection.execute(REPORT_AS_OF_TODAY, {"report_id": report_id}).one_or_none()
    return report_summary_as_of_today(row, report_id, as_of=as_of)


def report_summary(session: Session, *, report: Report, as_of: AsOf) -> ReportSummary:
    if as_of.is_current:
        return _report_summary_as_of_today(session.connection(), report.id, as_of)
    breakdown, counts = _report_summary_queries(as_of)
    params = {"report_id": report.id}
    return _report_summary(
        report, as_of, session.exec(counts, params=params), session.exec(breakdown, params=params)
    )


def report_summary_of(session: Session, report_id: int, *, as_of: AsOf) -> ReportSummary:
    """The summary of the report ``report_id`` as of a day from today on, in one statement
    that reads the report too (404 when there is none)."""
    return _report_summary_as_of_today(session.connection(), report_id, as_of)


class PortfolioParts:
    """The portfolio summary's parts as of today or later, kept between summaries of one
    database (``app.state.portfolio_parts``): every organisation's line and every report's
    figures, each brought up to date by reading again what writes touched since."""

    def __init__(self) -> None:
        self.organisations = kept_lines()
        self.reports = report_figures.kept_figures()


def portfolio_summary(
    session: Session, *, as_of: AsOf, kept: PortfolioParts | None = None
) -> PortfolioSummary:
    """As of today or later, the sum of the ``kept`` parts brought up to date (of parts read
    whole when None); as of a past day, from the history."""
    if not as_of.is_current:
        return PortfolioSummary(
            as_of=as_of.day,
            reports=session.exec(select(func.count()).select_from(Report)).one(),
            action_plans=_action_plan_counts(session, as_of),
            organisations=_organisation_breakdown(session, as_of),
            **_recommendation_counts(session, as_of),
        )
    kept = kept or PortfolioParts()
    connection = session.connection()
    lines, _ = kept.organisations.current(connection, as_of.day)
    reports, total = kept.reports.current(connection, as_of)
    figures = report_figures.summed(total, reports=len(reports))
    return PortfolioSummary(
        as_of=as_of.day,
        reports=figures.reports,
        action_plans=ActionPlanStateCounts(**figures.action_plans),
        organisations=in_code_order(lines.values()),
        **_counts(figures.recommendations),
    )


def organisation_summary(session: Session, *, organisation: Organisation, as_of: AsOf) -> OrganisationSummary:
    owned = Recommendation.id.in_(
        select(RecommendationOwner.recommendation_id).where(
            RecommendationOwner.organisation_id == organisation.id
        )
    )
    counts = _recommendation_counts(session, as_of, owned)
    if as_of.is_current:
        mine = tallied_lines(session.connection(), as_of.day, [organisation.id]).get(organisation.id)
    else:
        own = _organisation_breakdown(session, as_of, RecommendationOwner.organisation_id == organisation.id)
        mine = own[0] if own else None
    required = Report.id.in_(
        select(ReportActionPlanOrganisation.report_id).where(
            ReportActionPlanOrganisation.organisation_id == organisation.id
        )
    )
    reports_owned = session.exec(
        select(func.count(func.distinct(Recommendation.report_id))).where(owned)
    ).one()
    implemented = mine.by_status.implemented if mine else 0
    return OrganisationSummary(
        organisation_id=organisation.id,
        code=organisation.code,
        name=organisation.name,
        as_of=as_of.day,
        recommendations=counts["total"],
        by_status=mine.by_status if mine else OwnerStatusCounts(),
        by_rag=counts["by_rag"],
        overdue=mine.overdue if mine else 0,
        implemented_share=_share(implemented, counts["total"]),
        reports=reports_owned,
        action_plans=_action_plan_counts(session, as_of, required),
    )
