"""A list's total as of a current date, summed from the recommendation tally.

Which lists the tally answers is a table (``tally_counts``), and each case is checked against
what ``list_recommendations`` does: with the tally zeroed, a tallied total drops to nothing
while a counted one stays. Then, over random histories driven through the API (the writes of
``tests/api/test_tallies.py``), the tallied total of random filters equals the number of rows
the same filters list, and the count the history queries give for the same day; and the pages
the application serves between the writes equal what an application that kept nothing computes.
"""

import json
import random
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from app.domain.deadlines import Rag
from app.domain.status import Status
from app.models import RecommendationTally
from app.services.as_of import AsOf
from app.services.list_filters import RecommendationFilters, tallied_total, tally_counts
from app.services.recommendations import SortOrder, list_recommendations
from tests.api.test_current_figures import fresh  # noqa: F401 (a fixture)
from tests.api.test_tallies import CURRENT_DAYS, History
from tests.conftest import TODAY

API = "/api/v1"
LATER = date(2019, 3, 1)  # today or later: every current date reads the tally
EVERYTHING = 10_000


def _as_of(day: date, today: date = TODAY) -> AsOf:
    return AsOf(day=day, today=today, due_soon_working_days=10)


def _history_as_of(day: date) -> AsOf:
    """The same day asked from the day after: answered from the history, not the tally."""
    return _as_of(day, today=day + timedelta(days=1))


def _listed(session, filters: RecommendationFilters, as_of: AsOf) -> tuple[list, int]:
    return list_recommendations(
        session, filters=filters, as_of=as_of, sort=SortOrder.DAYS_OVERDUE, limit=EVERYTHING, offset=0
    )


# Of the seeded report and its owner MYHT; as of LATER, after the writes ``history`` makes.
WHICH_LISTS = {
    "no filter": (RecommendationFilters(), LATER, True),
    "overdue": (RecommendationFilters(overdue=True), LATER, True),
    "overdue as of today": (RecommendationFilters(overdue=True), TODAY, True),
    "not overdue": (RecommendationFilters(overdue=False), LATER, True),
    "statuses": (RecommendationFilters(statuses=[Status.NOT_STARTED, Status.IMPLEMENTED]), LATER, True),
    "RAG": (RecommendationFilters(rags=[Rag.RED, Rag.GREEN]), LATER, True),
    "due before": (RecommendationFilters(due_before=date(2019, 1, 1)), LATER, True),
    "all the figures": (
        RecommendationFilters(
            overdue=True, statuses=[Status.NOT_STARTED, Status.IN_PROGRESS], rags=[Rag.RED], due_before=LATER
        ),
        LATER,
        True,
    ),
    "a report": ("report", LATER, False),
    "a report, overdue": ("report overdue", LATER, False),
    "an owner, overdue": (RecommendationFilters(organisation="MYHT", overdue=True), LATER, False),
    "an owner by id": ("owner id", LATER, False),
    "a past day": (RecommendationFilters(overdue=True), TODAY - timedelta(days=1), False),
    "a past day, no filter": (RecommendationFilters(), TODAY - timedelta(days=1), False),
}


@pytest.fixture
def history(client, seeded, session) -> dict:
    """Random writes on the seeded report, then its id and MYHT's."""
    steps = History(client, random.Random(16))
    for _ in range(20):
        steps.step()
    report = client.get(f"{API}/reports", params={"slug": "kirklees-clas-2018"}).json()["items"][0]
    myht = next(
        o
        for o in client.get(f"{API}/organisations", params={"limit": 100}).json()["items"]
        if o["code"] == "MYHT"
    )
    return {"report": report["id"], "owner": str(myht["id"])}


def _filters(case, history: dict) -> RecommendationFilters:
    match case:
        case "report":
            return RecommendationFilters(report_id=history["report"])
        case "report overdue":
            return RecommendationFilters(report_id=history["report"], overdue=True)
        case "owner id":
            return RecommendationFilters(organisation=history["owner"])
    return case


@pytest.mark.parametrize(("case", "day", "tallied"), WHICH_LISTS.values(), ids=WHICH_LISTS.keys())
def test_which_lists_the_tally_counts(session, history, case, day, tallied):
    filters, as_of = _filters(case, history), _as_of(day)
    assert tally_counts(filters, as_of) is tallied
    items, total = _listed(session, filters, as_of)
    assert total == len(items) > 0  # not a vacuous case

    session.exec(update(RecommendationTally).values(n=0))  # the tally out of step, for this test only
    _, with_no_tally = _listed(session, filters, as_of)
    session.rollback()

    assert with_no_tally == (0 if tallied else total)


def _random_filters(rng: random.Random) -> RecommendationFilters:
    return RecommendationFilters(
        statuses=rng.sample(list(Status), rng.choice((0, 0, 1, 2, 3))),
        overdue=rng.choice((None, None, True, False)),
        rags=rng.sample(list(Rag), rng.choice((0, 0, 1, 2))),
        due_before=rng.choice((None, None, TODAY, TODAY + timedelta(days=30), date(2018, 9, 1))),
    )


def check_totals(session, step: str, rng: random.Random) -> None:
    for day in CURRENT_DAYS[:1] + tuple(rng.sample(CURRENT_DAYS[1:], 2)):
        for filters in [RecommendationFilters(overdue=True), *(_random_filters(rng) for _ in range(4))]:
            as_of = _as_of(day)
            assert tally_counts(filters, as_of)
            summed = tallied_total(session, filters, as_of)
            items, total = _listed(session, filters, as_of)
            from_history, counted = _listed(session, filters, _history_as_of(day))
            where = f"after {step}, as of {day}, {filters}"
            assert summed == total == len(items) == counted == len(from_history), where
            assert [i.id for i in items] == [i.id for i in from_history], where
    session.rollback()


@pytest.mark.parametrize("seed", range(2))
def test_the_tallied_total_equals_the_rows_listed_after_every_write(seed, client, seeded, session):
    rng = random.Random(seed)
    history = History(client, rng)
    check_totals(session, "the seed", rng)
    for number in range(15):
        step = history.step()
        check_totals(session, f"step {number}: {step}", rng)


TALLIED_PAGES = (
    {"overdue": "true", "sort": "days_overdue", "limit": 5},
    {"overdue": "true", "sort": "days_overdue", "limit": 5, "offset": 5},
    {"overdue": "false", "sort": "due_date", "limit": 5},
    {"rag": ["amber", "green"], "sort": "-due_date", "limit": 5},
    {"status": ["in_progress", "implemented"], "due_before": "2018-09-01", "limit": 5},
    {"overdue": "true", "sort": "days_overdue", "limit": 5, "as_of": LATER.isoformat()},
)


@pytest.mark.parametrize("seed", range(2))
def test_the_pages_served_between_writes_are_those_computed_afresh(seed, client, seeded, fresh):  # noqa: F811
    history = History(client, random.Random(100 + seed))
    paths = [f"{API}/recommendations?{urlencode(query, doseq=True)}" for query in TALLIED_PAGES]
    seen_totals = set()
    for _ in range(15):
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, answer.text
            assert answer.content == fresh(path), path
            seen_totals.add(json.loads(answer.content)["total"])
        history.step()
    assert len(seen_totals) > len(paths)  # the totals moved with the writes
