"""Reminders for a past date go by the statuses, owners' statuses and due dates of that date."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from app.domain.access import SYSTEM
from app.domain.reminders import Rule
from app.models import Recommendation, Reminder
from app.schemas.assurance import TargetDateChange
from app.schemas.organisations import OrganisationCreate
from app.schemas.progress import EvidenceLinkCreate, ProgressUpdateCreate
from app.schemas.recommendations import RecommendationCreate
from app.schemas.reports import ReportCreate
from app.services import organisations, progress, recommendations, reports, target_dates
from app.services.reminders import run_reminders

D = date.fromisoformat
TODAY = D("2018-07-02")
NOW = datetime(2018, 7, 2, 10, 0, tzinfo=UTC)
AS_OF = D("2018-06-21")  # a Thursday


def _progress(session, recommendation_id: int, owner: str, status: str, reported_on: str) -> None:
    progress.record_progress(
        session,
        actor=SYSTEM,
        recommendation_id=recommendation_id,
        data=ProgressUpdateCreate(
            organisation_code=owner, author="t", narrative="t", status=status, reported_on=reported_on
        ),
        today=TODAY,
        now=NOW,
    )


@pytest.fixture
def history(session):
    """Three recommendations whose state on AS_OF called for a reminder that today's does not."""
    for code in ("A", "B"):
        organisations.add_organisation(
            session, actor=SYSTEM, data=OrganisationCreate(code=code, name=f"Org {code}", kind="other"), now=NOW
        )
    report = reports.add_report(
        session,
        actor=SYSTEM,
        data=ReportCreate(slug="history", title="History", regulator="Test", received_date=D("2018-05-04")),
        now=NOW,
    )

    def add(ref: str, owner: str, target: str) -> Recommendation:
        made = recommendations.add_recommendation(
            session,
            actor=SYSTEM,
            report=reports.get_report(session, report.id),
            data=RecommendationCreate(ref=ref, text=f"Recommendation {ref}.", owners=[owner], target_date=target),
            now=NOW,
        )
        session.commit()
        return made

    # Due the day before: overdue on AS_OF; implemented only after it.
    overdue = add("1", "A", "2018-06-20")
    progress.add_evidence(
        session,
        actor=SYSTEM,
        recommendation_id=overdue.id,
        data=EvidenceLinkCreate(organisation_code="A", url="https://example.org/e", title="e"),
        now=NOW,
    )
    _progress(session, overdue.id, "A", "implemented", "2018-06-25")
    # Due one working day after AS_OF; its target date was moved later, after AS_OF.
    moved = add("2", "B", "2018-06-22")
    target_dates.change_target_date(
        session,
        actor=SYSTEM,
        recommendation=moved,
        data=TargetDateChange(target_date=D("2018-09-03"), reason="slipped", organisation_code="B"),
        expected_version=moved.version,
        today=TODAY,
        now=NOW,
    )
    # Its last progress 30 days before AS_OF: stale then; progress reported since.
    quiet = add("3", "A", "2018-12-31")
    _progress(session, quiet.id, "A", "in_progress", "2018-05-22")
    _progress(session, quiet.id, "A", "in_progress", "2018-06-28")
    return {"1": overdue.id, "2": moved.id, "3": quiet.id}


def _made(session) -> set[tuple[str, int, date]]:
    session.rollback()
    return {
        (r.rule, r.recommendation_id, r.due_date)
        for r in session.exec(select(Reminder).where(Reminder.recommendation_id.is_not(None)))
    }


def test_reminders_for_a_past_date_use_that_dates_statuses_and_due_dates(session, settings, history):
    run_reminders(session, as_of=AS_OF, today=TODAY, settings=settings, now=NOW)
    assert _made(session) == {
        (Rule.OVERDUE.value, history["1"], D("2018-06-20")),
        (Rule.DUE_SOON.value, history["2"], D("2018-06-22")),
        (Rule.STALE.value, history["3"], D("2018-12-31")),
    }


def test_the_same_history_asked_about_today_uses_todays_state(session, settings, history):
    """The rules fire on other days for today's state: nothing of the above is due on AS_OF."""
    run_reminders(session, as_of=AS_OF, today=AS_OF, settings=settings, now=NOW)
    assert _made(session) == set()
