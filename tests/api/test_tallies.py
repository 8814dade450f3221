"""The tallies the current summaries are summed from stay equal to a count from scratch.

Random histories are driven through the API as ``create_app`` builds it: reports in each
calendar, recommendations with single and joint owners, progress (backdated too) with
evidence, assurers' decisions, target-date revisions, changes of a report's deadline and
calendar, renamed owners, imports and re-imports that change owners and remove
recommendations, and refused writes. After every step the stored tallies must equal a GROUP BY
over the rows, and the portfolio and organisation summaries as of today and later dates (summed
from the tallies) must equal what the history queries answer for the same dates.
"""

import random
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.models import Organisation
from app.services import tallies
from app.services.as_of import AsOf
from app.services.summaries import PortfolioParts, organisation_summary, portfolio_summary
from tests.api.test_import import CCGS, MYHT, NEW_TRUST, post_text, report_text
from tests.conftest import TODAY

API = "/api/v1"
CALENDARS = ("england-and-wales", "scotland", "northern-ireland")
STATUSES = ("not_started", "in_progress", "implemented")
DECISIONS = ("verified", "closed_not_implemented", "reopened")
AREAS = ("Testshire", "Borsetshire", "Midsomer")
OWNER_GROUPS = (MYHT, CCGS, f"{CCGS} and {MYHT}", NEW_TRUST)
# Today, the edge of "due soon" and beyond: every current date reads the tallies.
CURRENT_DAYS = (TODAY, TODAY + timedelta(days=12), TODAY + timedelta(days=45), date(2019, 3, 1))


def _day(rng: random.Random, start: date, end: date) -> str:
    return (start + timedelta(days=rng.randint(0, (end - start).days))).isoformat()


class History:
    """Random writes through the API; each answers anything but a server error."""

    def __init__(self, client, rng: random.Random) -> None:
        self.client, self.rng = client, rng
        self.codes = [
            o["code"] for o in client.get(f"{API}/organisations", params={"limit": 100}).json()["items"]
        ]
        self.made = 0

    def _ok(self, response) -> dict:
        assert response.status_code < 500, response.text
        return response.json() if response.content else {}

    def _reports(self) -> list[dict]:
        return self.client.get(f"{API}/reports", params={"limit": 100}).json()["items"]

    def _recommendation(self) -> dict | None:
        items = self.client.get(f"{API}/recommendations", params={"limit": 100}).json()["items"]
        return self.rng.choice(items) if items else None

    def new_report(self) -> None:
        self.made += 1
        self._ok(
            self.client.post(
                f"{API}/reports",
                json={
                    "slug": f"random-{self.made}",
                    "title": "Random review",
                    "regulator": "Test",
                    "received_date": _day(self.rng, date(2018, 3, 1), TODAY),
                    "calendar": self.rng.choice(CALENDARS),
                    "working_days_allowed": self.rng.choice((5, 20, 60)),
                },
            )
        )

    def new_recommendation(self) -> None:
        report = self.rng.choice(self._reports())
        self.made += 1
        body = {
            "ref": f"99.{self.made}",
            "text": "Do better.",
            "owners": self.rng.sample(self.codes, self.rng.randint(1, 3)),
        }
        if self.rng.random() < 0.5:
            body["target_date"] = _day(self.rng, TODAY - timedelta(days=40), TODAY + timedelta(days=60))
        self._ok(self.client.post(f"{API}/reports/{report['id']}/recommendations", json=body))

    def progress(self) -> None:
        recommendation = self._recommendation()
        owner = self.rng.choice(recommendation["owners"])["code"]
        status = self.rng.choice(STATUSES)
        url = f"{API}/recommendations/{recommendation['id']}"
        if status == "implemented" and self.rng.random() < 0.8:
            evidence = {"organisation_code": owner, "url": "https://example.org/e", "title": "Evidence"}
            self._ok(self.client.post(f"{url}/evidence-links", json=evidence))
        body = {"organisation_code": owner, "author": "t", "narrative": "t", "status": status}
        if self.rng.random() < 0.4:  # backdated: an earlier update may stay the latest
            body["reported_on"] = _day(self.rng, date(2018, 5, 10), TODAY)
        self._ok(self.client.post(f"{url}/progress-updates", json=body))

    def decision(self) -> None:
        recommendation = self._recommendation()
        likely = {"verified": "reopened", "closed_not_implemented": "reopened", "implemented": "verified"}
        decision = likely.get(recommendation["status"], "closed_not_implemented")
        if self.rng.random() < 0.2:  # and now and then one the status refuses
            decision = self.rng.choice(DECISIONS)
        body = {"decision": decision, "reason": "Assured."}
        self._ok(self.client.post(f"{API}/recommendations/{recommendation['id']}/decisions", json=body))

    def target_date(self) -> None:
        recommendation = self._recommendation()
        target = None
        if self.rng.random() < 0.8:
            target = _day(self.rng, TODAY - timedelta(days=30), TODAY + timedelta(days=90))
        body = {
            "target_date": target,
            "reason": "Replanned.",
            "organisation_code": recommendation["owners"][0]["code"],
        }
        self._ok(self.client.patch_fresh(f"{API}/recommendations/{recommendation['id']}", json=body))

    def report_deadline(self) -> None:
        report = self.rng.choice(self._reports())
        body = self.rng.choice(
            [
                {"calendar": self.rng.choice(CALENDARS)},
                {"received_date": _day(self.rng, date(2018, 3, 1), TODAY)},
                {"working_days_allowed": self.rng.choice((5, 20, 60))},
                {"action_plan_submitted_date": _day(self.rng, date(2018, 5, 1), TODAY)},
            ]
        )
        self._ok(self.client.patch_fresh(f"{API}/reports/{report['id']}", json=body))

    def rename(self) -> None:
        organisations = self.client.get(f"{API}/organisations", params={"limit": 100}).json()["items"]
        organisation = self.rng.choice(organisations)
        body = {"name": f"Renamed {self.rng.random():.6f}"}
        self._ok(self.client.patch_fresh(f"{API}/organisations/{organisation['id']}", json=body))

    def import_report(self) -> None:
        groups = [
            (owners, [f"Improve item {i}." for i in range(self.rng.randint(1, 3))])
            for owners in self.rng.sample(OWNER_GROUPS, self.rng.randint(1, 3))
        ]
        text = report_text(groups, area=self.rng.choice(AREAS)).replace("2019", "2018")
        self._ok(post_text(self.client, text, apply_changes="true"))
        self.codes = [
            o["code"] for o in self.client.get(f"{API}/organisations", params={"limit": 100}).json()["items"]
        ]

    def step(self) -> str:
        action = self.rng.choices(
            [
                self.new_report,
                self.new_recommendation,
                self.progress,
                self.decision,
                self.target_date,
                self.report_deadline,
                self.rename,
                self.import_report,
            ],
            weights=[1, 3, 8, 3, 3, 2, 1, 2],
        )[0]
        action()
        return action.__name__


def check_tallies(session, step: str, rng: random.Random, kept: PortfolioParts) -> None:
    """``kept``: the portfolio summary's parts (organisation lines, report figures), kept from
    step to step as the application keeps them, so that parts brought up to date after a write
    are compared as well as parts read whole."""
    connection = session.connection()
    assert tallies.stored(connection) == tallies.recount(connection), f"after {step}"
    # A few organisations a step (every one of them is checked in the course of a history).
    organisations = session.exec(select(Organisation).order_by(Organisation.id)).all()
    for day in CURRENT_DAYS[:1] + tuple(rng.sample(CURRENT_DAYS[1:], 2)):
        summed = AsOf(day=day, today=TODAY, due_soon_working_days=10)
        from_history = AsOf(day=day, today=day + timedelta(days=1), due_soon_working_days=10)
        assert summed.is_current and not from_history.is_current
        expected = portfolio_summary(session, as_of=from_history)
        assert portfolio_summary(session, as_of=summed) == expected, f"after {step}, as of {day}"
        assert portfolio_summary(session, as_of=summed, kept=kept) == expected, (
            f"after {step}, as of {day}, from the kept parts"
        )
        for organisation in rng.sample(organisations, 3):
            assert organisation_summary(session, organisation=organisation, as_of=summed) == (
                organisation_summary(session, organisation=organisation, as_of=from_history)
            ), f"after {step}, {organisation.code} as of {day}"
    session.rollback()


@pytest.mark.parametrize("seed", range(4))
def test_the_tallies_equal_a_count_from_scratch_after_every_write(seed, client, seeded, session):
    rng = random.Random(seed)
    history = History(client, rng)
    kept = PortfolioParts()
    check_tallies(session, "the seed", rng, kept)
    for number in range(25):
        step = history.step()
        check_tallies(session, f"step {number}: {step}", rng, kept)


def test_the_portfolio_summary_answered_is_the_one_the_history_gives(client, seeded, session):
    """After every write: the application brings its kept parts up to date."""
    history = History(client, random.Random(99))
    for number in range(15):
        step = history.step()
        answered = client.get(f"{API}/summary").json()
        from_history = portfolio_summary(
            session, as_of=AsOf(day=TODAY, today=TODAY + timedelta(days=1), due_soon_working_days=10)
        )
        session.rollback()
        assert answered == from_history.model_dump(mode="json"), f"step {number}: {step}"
    assert answered["total"] > 25 and answered["organisations"]
