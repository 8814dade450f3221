"""The SQL filters and the pure deadline rules give the same answers, for any date.

A matrix of recommendations (single and joint owners, target dates or none,
progress histories with backdated corrections, two calendars) is asked about
on dates before, on and after "today": the past dates go through the
history queries, the others through the stored current statuses.
"""

from collections import defaultdict
from datetime import date, timedelta

import pytest

from app.domain.access import SYSTEM
from app.domain.deadlines import Rag, deadline_state
from app.domain.status import roll_up
from app.schemas.organisations import OrganisationCreate
from app.schemas.progress import EvidenceLinkCreate, ProgressUpdateCreate
from app.schemas.recommendations import RecommendationCreate
from app.schemas.reports import ReportCreate
from app.services import organisations, progress, recommendations, reports
from app.services.as_of import AsOf
from app.services.calendars import calendar_for
from app.services.recommendations import RecommendationFilters, SortOrder

TODAY = date(2018, 7, 2)
D = date.fromisoformat

# (ref, calendar, target date, owners, [(owner, status, reported_on), ...] in entry order)
MATRIX = [
    ("1", "england-and-wales", None, ["A"], []),
    (
        "2",
        "england-and-wales",
        "2018-06-20",
        ["A"],
        [("A", "in_progress", "2018-05-10"), ("A", "implemented", "2018-06-25")],
    ),
    (
        "3",
        "england-and-wales",
        "2018-07-10",
        ["A", "B"],
        [("A", "implemented", "2018-06-01"), ("B", "in_progress", "2018-06-15")],
    ),
    (
        "4",
        "england-and-wales",
        "2018-06-05",
        ["B"],
        [("B", "implemented", "2018-06-05"), ("B", "in_progress", "2018-06-28")],
    ),
    ("5", "england-and-wales", "2018-07-13", ["A"], []),
    ("6", "england-and-wales", "2018-09-03", ["B"], [("B", "in_progress", "2018-05-20")]),
    (
        "7",
        "england-and-wales",
        "2018-06-29",
        ["A", "B"],
        [
            ("A", "in_progress", "2018-06-20"),
            ("A", "not_started", "2018-06-01"),
            ("B", "implemented", "2018-06-29"),
            ("A", "implemented", "2018-06-29"),
        ],
    ),
    ("8", "scotland", "2018-07-16", ["A"], []),
    ("9", "scotland", None, ["A", "B"], [("A", "in_progress", "2018-06-01")]),
    ("10", "northern-ireland", "2018-07-12", ["B"], [("B", "implemented", "2018-07-02")]),
]
AS_OF_DATES = [
    D(d)
    for d in (
        "2018-05-01",
        "2018-05-20",
        "2018-06-05",
        "2018-06-06",
        "2018-06-21",
        "2018-06-26",
        "2018-06-29",
        "2018-07-01",
        "2018-07-02",
        "2018-07-05",
        "2018-07-13",
        "2018-08-01",
        "2019-01-01",
    )
]


@pytest.fixture
def matrix(session, clock):
    now = clock.now()
    for code in ("A", "B"):
        organisations.add_organisation(
            session,
            actor=SYSTEM,
            data=OrganisationCreate(code=code, name=f"Org {code}", kind="other"),
            now=now,
        )
    report_ids = {}
    for calendar in ("england-and-wales", "scotland", "northern-ireland"):
        report = reports.add_report(
            session,
            actor=SYSTEM,
            data=ReportCreate(
                slug=f"matrix-{calendar}",
                title="Matrix",
                regulator="Test",
                received_date=D("2018-05-04"),
                calendar=calendar,
            ),
            now=now,
        )
        report_ids[calendar] = report.id
    created = {}
    for ref, calendar, target, owners, history in MATRIX:
        recommendation = recommendations.add_recommendation(
            session,
            actor=SYSTEM,
            report=reports.get_report(session, report_ids[calendar]),
            data=RecommendationCreate(
                ref=ref, text=f"Recommendation {ref}.", owners=owners, target_date=target
            ),
            now=now,
        )
        session.commit()
        for owner in owners:
            progress.add_evidence(
                session,
                actor=SYSTEM,
                recommendation_id=recommendation.id,
                data=EvidenceLinkCreate(organisation_code=owner, url="https://example.org/e", title="e"),
                now=now,
            )
        for owner, status, reported_on in history:
            progress.record_progress(
                session,
                actor=SYSTEM,
                recommendation_id=recommendation.id,
                data=ProgressUpdateCreate(
                    organisation_code=owner, author="t", narrative="t", status=status, reported_on=reported_on
                ),
                today=TODAY,
                now=now,
            )
        created[ref] = (recommendation.id, recommendation.due_date, calendar, owners, history)
    return created


def _expected(matrix, as_of: date) -> dict[str, tuple[str, bool, Rag]]:
    """Status, overdue and RAG by the pure rules, replaying each history in Python."""
    answers = {}
    for ref, (_, due, calendar, owners, history) in matrix.items():
        latest: dict[str, tuple[date, int, str]] = {}
        for order, (owner, status, reported_on) in enumerate(history):
            key = (D(reported_on), order)
            if D(reported_on) <= as_of and (owner not in latest or key > latest[owner][:2]):
                latest[owner] = (*key, status)
        status = roll_up(latest[o][2] if o in latest else "not_started" for o in owners)
        state = deadline_state(
            due=due, status=status, today=as_of, calendar=calendar_for(calendar), due_soon_working_days=10
        )
        answers[ref] = (status.value, state.overdue, state.rag)
    return answers


def _ask(session, as_of: date, **filters) -> dict:
    items, total = recommendations.list_recommendations(
        session,
        filters=RecommendationFilters(**filters),
        as_of=AsOf(day=as_of, today=TODAY, due_soon_working_days=10),
        sort=SortOrder.REF,
        limit=200,
        offset=0,
    )
    assert total == len(items)
    return {item.ref: item for item in items}


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_sql_filters_agree_with_the_pure_rules(session, matrix, as_of):
    expected = _expected(matrix, as_of)
    everything = _ask(session, as_of)
    assert {ref: (i.status.value, i.overdue, i.rag) for ref, i in everything.items()} == expected

    overdue = set(_ask(session, as_of, overdue=True))
    assert overdue == {ref for ref, (_, is_overdue, _) in expected.items() if is_overdue}
    assert set(_ask(session, as_of, overdue=False)) == set(expected) - overdue
    for colour in Rag:
        assert set(_ask(session, as_of, rags=[colour])) == {
            ref for ref, (_, _, r) in expected.items() if r is colour
        }, colour
    by_status = defaultdict(set)
    for ref, (status, _, _) in expected.items():
        by_status[status].add(ref)
    for status, refs in by_status.items():
        assert set(_ask(session, as_of, statuses=[status])) == refs


def test_most_overdue_first(session, matrix):
    items, _ = recommendations.list_recommendations(
        session,
        filters=RecommendationFilters(),
        as_of=AsOf(day=D("2018-07-05"), today=TODAY, due_soon_working_days=10),
        sort=SortOrder.DAYS_OVERDUE,
        limit=200,
        offset=0,
    )
    overdue = [i for i in items if i.overdue]
    assert overdue and all(i.overdue for i in items[: len(overdue)])
    assert [i.days_overdue for i in overdue] == sorted((i.days_overdue for i in overdue), reverse=True)


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_the_overdue_alone_come_in_the_order_they_lead_the_whole_list(session, matrix, as_of):
    def most_overdue_first(**filters) -> list[tuple[str, bool]]:
        items, _ = recommendations.list_recommendations(
            session,
            filters=RecommendationFilters(**filters),
            as_of=AsOf(day=as_of, today=TODAY, due_soon_working_days=10),
            sort=SortOrder.DAYS_OVERDUE,
            limit=200,
            offset=0,
        )
        return [(i.ref, i.overdue) for i in items]

    overdue, everything = most_overdue_first(overdue=True), most_overdue_first()
    assert overdue == everything[: len(overdue)]
    assert not any(is_overdue for _, is_overdue in everything[len(overdue) :])


def test_due_before_filters_on_the_effective_due_date(session, matrix):
    refs = set(_ask(session, TODAY, due_before=D("2018-06-21")))
    assert refs == {ref for ref, (_, due, *_rest) in matrix.items() if due < D("2018-06-21")}


def test_time_travel(session, matrix):
    """Recommendation 2 (due 20 June) was implemented on 25 June."""
    assert _expected(matrix, D("2018-06-22"))["2"] == ("in_progress", True, Rag.RED)
    assert _ask(session, D("2018-06-22"))["2"].overdue is True
    assert _ask(session, D("2018-06-22"))["2"].working_days_overdue == 2
    assert _ask(session, D("2018-08-01"))["2"].overdue is False
    assert _ask(session, D("2018-08-01"))["2"].status == "implemented"
    owners_then = _ask(session, D("2018-06-10"))["3"].owners
    assert [(o.code, o.status) for o in owners_then] == [("A", "implemented"), ("B", "not_started")]


def test_a_day_before_anything_happened(session, matrix):
    before = _ask(session, D("2018-01-01") - timedelta(days=1))
    assert {i.status for i in before.values()} == {"not_started"}
    assert not any(i.overdue for i in before.values())
