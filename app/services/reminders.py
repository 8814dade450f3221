"""Reminders for a day: each made once (a unique key), sent as webhook events in the same
transaction, and, with RECTRACK_SMTP_URL set, as one email per organisation per day plus a
Monday digest, written here and sent afterwards by ``send_pending_emails``."""

import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from app.clock import Clock
from app.config import Settings
from app.db.sessions import session_scope
from app.domain.deadlines import deadline_state
from app.domain.reminders import ReminderPolicy, Rule, action_plan_reminders, recommendation_reminders
from app.domain.status import DONE_STATUSES, TERMINAL_STATUSES, OwnerStatus, Status
from app.models import (
    Organisation,
    Recommendation,
    RecommendationOwner,
    Reminder,
    ReminderEmail,
    Report,
    ReportActionPlanOrganisation,
)
from app.services import as_of as as_of_sql
from app.services import webhooks
from app.services.as_of import AsOf
from app.services.calendars import calendar_for

MAX_EMAIL_ATTEMPTS = 5


@dataclass(frozen=True)
class Due:
    """One reminder made today, for the emails."""

    rule: Rule
    report: Report
    recommendation: Recommendation | None
    organisation: Organisation
    due_date: date


def policy(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        due_soon_working_days=settings.due_soon_reminder_days, stale_days=settings.reminder_stale_days
    )


def _insert_once(session: Session, values: dict) -> int | None:
    """The new reminder's id, or None when it was made before (by this run or another)."""
    dialect = sqlite if session.connection().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(Reminder)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rule", "subject", "organisation_id", "reminder_date"])
        .returning(Reminder.id)
    )
    return session.connection().execute(statement).scalar()


@dataclass(frozen=True)
class OwnerOnDay:
    """One owner of a recommendation as it stood on the day the reminders are for."""

    report: Report
    recommendation: Recommendation
    organisation_id: int
    status: Status  # the recommendation's
    owner_status: OwnerStatus
    due_date: date
    last_reported_on: date | None


def owners_on(session: Session, *, as_of: AsOf, day_ends_at: datetime) -> list[OwnerOnDay]:
    """Every owner of every recommendation, with statuses and due dates as of ``as_of.day``
    (the as-of SQL: the history for a past day, the stored columns otherwise)."""
    rows = session.exec(
        select(
            Report,
            Recommendation,
            RecommendationOwner.organisation_id,
            as_of_sql.recommendation_status(as_of),
            as_of_sql.owner_status(as_of, RecommendationOwner),
            as_of_sql.due_date(as_of, day_ends_at=day_ends_at),
            as_of_sql.owner_last_reported_on(as_of, RecommendationOwner),
        )
        .join(Recommendation, Recommendation.id == RecommendationOwner.recommendation_id)
        .join(Report, Report.id == Recommendation.report_id)
        .order_by(Recommendation.report_id, Recommendation.position, RecommendationOwner.position)
    ).all()
    return [
        OwnerOnDay(report, recommendation, organisation, Status(status), OwnerStatus(owner), due, last)
        for report, recommendation, organisation, status, owner, due, last in rows
    ]


def run_reminders(session: Session, *, as_of: date, today: date, settings: Settings, now: datetime) -> int:
    """Make the reminders due on ``as_of`` that were not made yet; the number made. They go by
    the statuses, owners' statuses and due dates as they stood on ``as_of`` (``today`` says
    whether that is in the past)."""
    rules = policy(settings)
    endpoints = webhooks.active_endpoints(session)
    reports = {r.id: r for r in session.exec(select(Report)).all()}
    organisations = {o.id: o for o in session.exec(select(Organisation)).all()}
    made: list[Due] = []

    def remind(
        rule: Rule, report: Report, recommendation: Recommendation | None, organisation_id: int, due: date
    ):
        subject = f"recommendation:{recommendation.id}" if recommendation else f"action_plan:{report.id}"
        reminder_id = _insert_once(
            session,
            {
                "rule": rule.value,
                "subject": subject,
                "report_id": report.id,
                "recommendation_id": recommendation.id if recommendation else None,
                "organisation_id": organisation_id,
                "reminder_date": as_of,
                "due_date": due,
                "created_at": now,
            },
        )
        if reminder_id is None:
            return
        organisation = organisations[organisation_id]
        data, concerned = webhooks.event_data(
            session,
            webhooks.Subject(report.id, recommendation.id if recommendation else None, organisation_id),
        )
        data.update(
            {"reminder_id": reminder_id, "reminder_date": as_of.isoformat(), "due_date": due.isoformat()}
        )
        webhooks.enqueue(
            session,
            event_type=rule.value,
            data=data,
            report_id=report.id,
            concerned=concerned,
            occurred_at=now,
            now=now,
            endpoints=endpoints,
        )
        made.append(Due(rule, report, recommendation, organisation, due))

    day = AsOf(day=as_of, today=today, due_soon_working_days=settings.due_soon_working_days)
    day_ends_at = datetime.combine(as_of + timedelta(days=1), time(), ZoneInfo(settings.timezone))
    owners = owners_on(session, as_of=day, day_ends_at=day_ends_at)
    for owner in owners:
        done = owner.status in TERMINAL_STATUSES or owner.owner_status is OwnerStatus.IMPLEMENTED
        for rule in recommendation_reminders(
            due=owner.due_date,
            done=done,
            last_progress_on=owner.last_reported_on or owner.report.received_date,
            today=as_of,
            calendar=calendar_for(owner.report.calendar),
            policy=rules,
        ):
            remind(rule, owner.report, owner.recommendation, owner.organisation_id, owner.due_date)
    required = session.exec(select(ReportActionPlanOrganisation)).all()
    for row in required:
        report = reports[row.report_id]
        for rule in action_plan_reminders(
            due=report.action_plan_due_date,
            submitted=report.action_plan_submitted_date,
            today=as_of,
            calendar=calendar_for(report.calendar),
            policy=rules,
        ):
            remind(rule, report, None, row.organisation_id, report.action_plan_due_date)
    if settings.smtp_url is not None:
        _write_emails(
            session, made, owners, as_of=as_of, settings=settings, now=now, organisations=organisations
        )
    session.commit()
    return len(made)


# -- email ---------------------------------------------------------------------

RULE_WORDS = {
    Rule.DUE_SOON: "due soon",
    Rule.OVERDUE: "overdue",
    Rule.STALE: "no progress reported for a while",
    Rule.ACTION_PLAN_DUE_SOON: "action plan due soon",
    Rule.ACTION_PLAN_OVERDUE: "action plan overdue",
}


def _line(item: Due) -> str:
    what = (
        f"Recommendation {item.recommendation.ref} of {item.report.title}"
        if item.recommendation
        else f"The action plan for {item.report.title}"
    )
    return f"- {what}: {RULE_WORDS[item.rule]} (due {item.due_date:%d %B %Y})"


def _queue_email(
    session: Session,
    *,
    organisation: Organisation,
    kind: str,
    as_of: date,
    subject: str,
    lines: list[str],
    now: datetime,
) -> None:
    dialect = sqlite if session.connection().dialect.name == "sqlite" else postgresql
    body = f"{organisation.name} ({organisation.code})\n\n" + "\n".join(lines) + "\n"
    session.connection().execute(
        dialect.insert(ReminderEmail)
        .values(
            organisation_id=organisation.id,
            kind=kind,
            sent_for=as_of,
            to_address=organisation.contact_email,
            subject=subject,
            body=body,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "kind", "sent_for"])
    )


def _write_emails(
    session: Session,
    made: list[Due],
    owners: list[OwnerOnDay],
    *,
    as_of: date,
    settings: Settings,
    now: datetime,
    organisations: dict[int, Organisation],
) -> None:
    by_organisation: dict[int, list[Due]] = defaultdict(list)
    for item in made:
        by_organisation[item.organisation.id].append(item)
    for organisation_id, items in by_organisation.items():
        organisation = organisations[organisation_id]
        if organisation.contact_email:
            _queue_email(
                session,
                organisation=organisation,
                kind="daily",
                as_of=as_of,
                subject=f"rectrack reminders for {organisation.code}, {as_of:%d %B %Y}",
                lines=[_line(i) for i in items],
                now=now,
            )
    if as_of.weekday() == 0:
        for organisation in organisations.values():
            if organisation.contact_email:
                lines = _digest_lines(owners, organisation, as_of=as_of, settings=settings)
                if lines:
                    _queue_email(
                        session,
                        organisation=organisation,
                        kind="digest",
                        as_of=as_of,
                        subject=f"rectrack weekly digest for {organisation.code}, {as_of:%d %B %Y}",
                        lines=lines,
                        now=now,
                    )


def _digest_lines(
    owners: list[OwnerOnDay], organisation: Organisation, *, as_of: date, settings: Settings
) -> list[str]:
    """What the organisation owns that is overdue or due soon as of ``as_of``."""
    lines = []
    mine = [o for o in owners if o.organisation_id == organisation.id]
    for owner in sorted(mine, key=lambda o: (o.due_date, o.report.id, o.recommendation.position)):
        if owner.status in DONE_STATUSES or owner.owner_status is OwnerStatus.IMPLEMENTED:
            continue
        recommendation, report = owner.recommendation, owner.report
        state = deadline_state(
            due=owner.due_date,
            status=owner.status,
            today=as_of,
            calendar=calendar_for(report.calendar),
            due_soon_working_days=settings.due_soon_working_days,
        )
        if state.overdue:
            lines.append(
                f"- Overdue by {state.days_overdue} days: recommendation {recommendation.ref} "
                f"of {report.title} (due {owner.due_date:%d %B %Y})"
            )
        elif state.due_soon:
            lines.append(
                f"- Due soon: recommendation {recommendation.ref} of {report.title} "
                f"(due {owner.due_date:%d %B %Y})"
            )
    return lines


def _smtp(settings: Settings) -> smtplib.SMTP:
    url = urlsplit(settings.smtp_url.get_secret_value())
    if url.scheme not in ("smtp", "smtps"):
        raise ValueError("RECTRACK_SMTP_URL must be smtp:// or smtps://")
    host, port = url.hostname or "localhost", url.port
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30)
    else:
        client = smtplib.SMTP(host, port or 25, timeout=30)
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls()
            client.ehlo()
    if url.username:
        client.login(unquote(url.username), unquote(url.password or ""))
    return client


EMAIL_CLAIM = timedelta(minutes=5)


def send_pending_emails(engine: Engine, *, settings: Settings, clock: Clock, limit: int = 50) -> int:
    """Send the emails written but not sent yet; the number sent. Each is claimed first, so
    senders running at once send it once; a crash between sending and recording sends it
    again after the claim runs out (at least once)."""
    with session_scope(engine, writes=False) as session:
        pending = session.exec(
            select(ReminderEmail.id, ReminderEmail.to_address, ReminderEmail.subject, ReminderEmail.body)
            .where(ReminderEmail.sent_at.is_(None), ReminderEmail.attempts < MAX_EMAIL_ATTEMPTS)
            .order_by(ReminderEmail.id)
            .limit(limit)
        ).all()
        session.rollback()
    claimed = [email for email in pending if _claim(engine, email.id, clock.now())]
    if not claimed:
        return 0
    sent = 0
    try:
        client = _smtp(settings)
    except (OSError, smtplib.SMTPException) as error:
        for email in claimed:
            _finish(engine, email.id, error=str(error))
        return 0
    with client:
        for email in claimed:
            message = EmailMessage()
            message["From"] = settings.smtp_from
            message["To"] = email.to_address
            message["Subject"] = email.subject
            message["Message-ID"] = f"<rectrack-reminder-{email.id}@{settings.smtp_from.rsplit('@', 1)[-1]}>"
            message.set_content(email.body)
            try:
                client.send_message(message)
            except smtplib.SMTPException as error:
                _finish(engine, email.id, error=str(error))
                continue
            _finish(engine, email.id, sent_at=clock.now())
            sent += 1
    return sent


def _claim(engine: Engine, email_id: int, now: datetime) -> bool:
    with session_scope(engine) as session:
        claimed = (
            session.connection()
            .execute(
                update(ReminderEmail)
                .where(
                    ReminderEmail.id == email_id,
                    ReminderEmail.sent_at.is_(None),
                    or_(ReminderEmail.claimed_until.is_(None), ReminderEmail.claimed_until < now),
                )
                .values(claimed_until=now + EMAIL_CLAIM, attempts=ReminderEmail.attempts + 1)
            )
            .rowcount
        )
        session.commit()
    return claimed == 1


def _finish(
    engine: Engine, email_id: int, *, sent_at: datetime | None = None, error: str | None = None
) -> None:
    with session_scope(engine) as session:
        session.connection().execute(
            update(ReminderEmail)
            .where(ReminderEmail.id == email_id)
            .values(sent_at=sent_at, claimed_until=None, last_error=None if error is None else error[:500])
        )
        session.commit()
