from contextlib import nullcontext
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, delete, select

from app.domain.access import Actor, report_fields_refused
from app.domain.deadlines import action_plan_due_date, explain_action_plan_deadline
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import Organisation, Recommendation, Report, ReportActionPlanOrganisation
from app.schemas.reports import (
    DeadlineExplanation,
    OrganisationRef,
    ReportCreate,
    ReportPublic,
    ReportUpdate,
    SkippedDay,
    check_report_dates,
)
from app.services import audit, change_scopes, recommendation_rows, tallies, versions
from app.services.as_of import AsOf
from app.services.calendars import calendar_for
from app.services.organisations import resolve_codes
from app.services.paging import fetch_page
from app.services.summaries import action_plan

DEADLINE_INPUTS = frozenset({"received_date", "working_days_allowed", "calendar"})


def get_report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"Report {report_id} does not exist.")
    return report


def find_by_slug(session: Session, slug: str) -> Report | None:
    return session.exec(select(Report).where(Report.slug == slug)).first()


def compute_due_date(received: date, working_days: int, calendar: str) -> date:
    return action_plan_due_date(received, working_days, calendar_for(calendar))


def _ensure_slug_free(session: Session, slug: str, *, except_id: int | None = None) -> None:
    existing = find_by_slug(session, slug)
    if existing is not None and existing.id != except_id:
        raise Conflict(f"The slug {slug!r} is already used by report {existing.id}.", existing_id=existing.id)


def _set_action_plan_organisations(session: Session, report: Report, codes: list[str]) -> None:
    organisations = resolve_codes(session, codes)
    session.exec(
        delete(ReportActionPlanOrganisation).where(ReportActionPlanOrganisation.report_id == report.id)
    )
    for organisation in organisations:
        session.add(ReportActionPlanOrganisation(report_id=report.id, organisation_id=organisation.id))


def add_report(session: Session, *, actor: Actor, data: ReportCreate, now: datetime) -> Report:
    """Stage a new report in the session without committing (the seed and the importer share this)."""
    _ensure_slug_free(session, data.slug)
    fields = data.model_dump(exclude={"action_plan_organisations"})
    fields["received_date"] = data.received_date or data.published_date
    report = Report(
        **fields,
        action_plan_due_date=compute_due_date(
            fields["received_date"], data.working_days_allowed, data.calendar
        ),
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    _set_action_plan_organisations(session, report, data.action_plan_organisations)
    audit.record(
        session,
        actor=actor,
        action="create",
        entity="report",
        entity_id=report.id,
        now=now,
        after={**audit.snapshot(report), "action_plan_organisations": data.action_plan_organisations},
        scopes=change_scopes.of_report(session, report.id),
    )
    return report


def create_report(session: Session, *, actor: Actor, data: ReportCreate, now: datetime) -> Report:
    report = add_report(session, actor=actor, data=data, now=now)
    session.commit()
    return report


def update_report(
    session: Session,
    *,
    actor: Actor,
    report: Report,
    data: ReportUpdate,
    expected_version: int,
    now: datetime,
) -> Report:
    changes = data.changes()
    refused = report_fields_refused(actor, set(changes))
    if refused:
        raise Forbidden(
            f"A {actor.role.value} key may not change {', '.join(refused)}: "
            "assurers record the action plan's submission (action_plan_submitted_date) only."
        )
    before = audit.snapshot(report)
    versions.claim(session, report, expected_version)
    touched = change_scopes.of_report(session, report.id)  # its action plan's organisations until now
    if "slug" in changes:
        _ensure_slug_free(session, changes["slug"], except_id=report.id)
    codes = changes.pop("action_plan_organisations", None)
    deadline_moves = bool(DEADLINE_INPUTS & changes.keys())
    # Its calendar and its recommendations' due dates are what the tallies count by.
    with tallies.kept(session, report_id=report.id) if deadline_moves else nullcontext():
        for field, value in changes.items():
            setattr(report, field, value)
        try:
            check_report_dates(report)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        if codes is not None:
            _set_action_plan_organisations(session, report, codes)
        if deadline_moves:
            _recompute_deadline(session, report)
    report.updated_at = now
    session.add(report)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="report",
        entity_id=report.id,
        now=now,
        before=before,
        after={
            **audit.snapshot(report),
            **({"action_plan_organisations": codes} if codes is not None else {}),
        },
        scopes=touched | change_scopes.of_report(session, report.id),
    )
    session.commit()
    return report


def _recompute_deadline(session: Session, report: Report) -> None:
    report.action_plan_due_date = compute_due_date(
        report.received_date, report.working_days_allowed, report.calendar
    )
    recommendation_rows.follow_report_deadline(session, report.id, report.action_plan_due_date)


def recompute_deadlines(session: Session, *, actor: Actor, now: datetime) -> list[Report]:
    """Bring every stored action-plan due date (and the due dates that follow it) in line with
    the calendars in force: the operator's extra non-working days may have changed since they
    were computed. The reports whose due date moved, each with an audit event."""
    moved = []
    for report in session.exec(select(Report).order_by(Report.id)).all():
        due = compute_due_date(report.received_date, report.working_days_allowed, report.calendar)
        if due == report.action_plan_due_date:
            continue
        before = audit.snapshot(report)
        with tallies.kept(session, report_id=report.id):
            _recompute_deadline(session, report)
        versions.bump(report)
        report.updated_at = now
        session.add(report)
        audit.record(
            session,
            actor=actor,
            action="recompute_deadline",
            entity="report",
            entity_id=report.id,
            now=now,
            before=before,
            after=audit.snapshot(report),
            scopes=change_scopes.of_report(session, report.id),
        )
        moved.append(report)
    session.commit()
    return moved


def list_reports(session: Session, *, slug: str | None, limit: int, offset: int) -> tuple[list[Report], int]:
    query = select(Report)
    if slug:
        query = query.where(Report.slug == slug)
    return fetch_page(session, query, order_by=[Report.id], limit=limit, offset=offset)


def report_views(session: Session, reports: list[Report], as_of: AsOf) -> list[ReportPublic]:
    """Public views of ``reports`` with their organisations and counts, in two queries."""
    ids = [r.id for r in reports]
    organisations: dict[int, list[OrganisationRef]] = {i: [] for i in ids}
    rows = session.exec(
        select(ReportActionPlanOrganisation.report_id, Organisation)
        .join(Organisation, Organisation.id == ReportActionPlanOrganisation.organisation_id)
        .where(ReportActionPlanOrganisation.report_id.in_(ids))
        .order_by(Organisation.code)
    )
    for report_id, organisation in rows:
        organisations[report_id].append(OrganisationRef.model_validate(organisation))
    counts = dict(
        session.exec(
            select(Recommendation.report_id, func.count())
            .where(Recommendation.report_id.in_(ids))
            .group_by(Recommendation.report_id)
        ).all()
    )
    return [
        ReportPublic.model_validate(
            {
                **report.model_dump(),
                "action_plan_organisations": organisations[report.id],
                "recommendation_count": counts.get(report.id, 0),
                "action_plan": action_plan(report, as_of),
            }
        )
        for report in reports
    ]


def report_view(session: Session, report: Report, as_of: AsOf) -> ReportPublic:
    return report_views(session, [report], as_of)[0]


def explain_deadline(report: Report, as_of: AsOf) -> DeadlineExplanation:
    explanation = explain_action_plan_deadline(
        report.received_date, report.working_days_allowed, calendar_for(report.calendar)
    )
    return DeadlineExplanation(
        report_id=report.id,
        calendar=report.calendar,
        received_date=explanation.received_date,
        working_days=explanation.working_days,
        due_date=explanation.due_date,
        counted_days=explanation.counted_days,
        skipped_days=[SkippedDay(date=d.day, reason=d.reason) for d in explanation.skipped_days],
        action_plan=action_plan(report, as_of),
    )
