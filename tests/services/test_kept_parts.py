"""The portfolio summary's kept parts (``app.services.kept_parts``) are brought up to date by
reading again the parts that writes touched, and only those: after a progress update, its
report's figures and its owners' lines; after a rename, every line; after a restated status,
nothing. The parts are read by the application's own readers, wrapped to record what they are
asked for; the summary summed from them must equal one from the history (as in
``tests/api/test_tallies.py``, which checks that over random histories)."""

from collections.abc import Callable, Collection, Hashable
from datetime import timedelta

import pytest

from app.domain import scopes
from app.services import report_figures
from app.services.as_of import AsOf
from app.services.kept_parts import KeptParts
from app.services.organisation_lines import tallied_lines
from app.services.summaries import PortfolioParts, portfolio_summary
from tests.conftest import TODAY

API = "/api/v1"
TODAY_AS_OF = AsOf(day=TODAY, today=TODAY, due_soon_working_days=10)
FROM_HISTORY = AsOf(day=TODAY, today=TODAY + timedelta(days=1), due_soon_working_days=10)
ALL = "all"


class Recorded:
    """A reader of parts that records the ids it is asked for (``ALL`` for every part)."""

    def __init__(self, read: Callable) -> None:
        self.read, self.asked = read, []

    def __call__(self, connection, when: Hashable, ids: Collection[int] | None):
        self.asked.append(ALL if ids is None else sorted(ids))
        return self.read(connection, when, ids)


class RecordedParts(PortfolioParts):
    """The application's parts, read by ``Recorded`` readers."""

    def __init__(self) -> None:
        self.readers = (Recorded(tallied_lines), Recorded(report_figures.read))
        self.organisations = KeptParts("organisation", self.readers[0], also_moved_by=[scopes.ORGANISATIONS])
        self.reports = KeptParts("report", self.readers[1], tally=report_figures.tally)


@pytest.fixture
def parts() -> RecordedParts:
    return RecordedParts()


def _asked(parts: RecordedParts) -> tuple[list, list]:
    """What each reader (organisations', reports') was asked for since the last call."""
    asked = tuple(list(reader.asked) for reader in parts.readers)
    for reader in parts.readers:
        reader.asked.clear()
    return asked


def _summed(session, parts: PortfolioParts):
    summary = portfolio_summary(session, as_of=TODAY_AS_OF, kept=parts)
    assert summary == portfolio_summary(session, as_of=FROM_HISTORY)
    session.rollback()
    return summary


def _second_report(client) -> int:
    created = client.post(
        f"{API}/reports",
        json={
            "slug": "second",
            "title": "Second review",
            "regulator": "Test",
            "received_date": "2018-05-01",
            "calendar": "scotland",
            "working_days_allowed": 20,
        },
    )
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    code = client.get(f"{API}/organisations", params={"limit": 1}).json()["items"][0]["code"]
    body = {"ref": "1.1", "text": "Do better.", "owners": [code]}
    added = client.post(f"{API}/reports/{report_id}/recommendations", json=body)
    assert added.status_code == 201, added.text
    return report_id


def _progress(client, recommendation: dict, status: str) -> None:
    body = {"organisation_code": recommendation["owners"][0]["code"], "author": "a", "narrative": "n"}
    answer = client.post(
        f"{API}/recommendations/{recommendation['id']}/progress-updates", json={**body, "status": status}
    )
    assert answer.status_code == 201, answer.text


def test_a_progress_update_has_its_report_and_its_owners_read_again(client, seeded, session, parts):
    second = _second_report(client)
    first = _summed(session, parts)
    assert _asked(parts) == ([ALL], [ALL]) and first.reports == 2
    recommendation = client.get(f"{API}/recommendations", params={"limit": 1}).json()["items"][0]
    assert recommendation["report_id"] != second and recommendation["status"] == "not_started"
    owners = sorted(owner["organisation_id"] for owner in recommendation["owners"])

    _progress(client, recommendation, "in_progress")
    moved = _summed(session, parts)
    assert _asked(parts) == ([owners], [[recommendation["report_id"]]])
    assert moved.by_status.in_progress == first.by_status.in_progress + 1

    _progress(client, recommendation, "in_progress")  # restated: no figure moved
    assert _summed(session, parts) == moved
    assert _asked(parts) == ([], [])


def test_a_new_report_is_read_and_a_rename_has_every_line_read_again(client, seeded, session, parts):
    _summed(session, parts)
    _asked(parts)
    second = _second_report(client)
    assert _summed(session, parts).reports == 2
    organisations, reports = _asked(parts)
    assert reports == [[second]] and organisations != [ALL]

    organisation = client.get(f"{API}/organisations", params={"limit": 1}).json()["items"][0]
    renamed = client.patch_fresh(f"{API}/organisations/{organisation['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    lines = _summed(session, parts).organisations
    assert "Renamed" in {line.name for line in lines}
    assert _asked(parts) == ([ALL], [])


def test_each_day_asked_about_is_kept_apart(client, seeded, session, parts):
    later = AsOf(day=TODAY + timedelta(days=30), today=TODAY, due_soon_working_days=10)
    for as_of in (TODAY_AS_OF, later, TODAY_AS_OF, later):
        portfolio_summary(session, as_of=as_of, kept=parts)
    assert _asked(parts) == ([ALL, ALL], [ALL, ALL])  # each day read whole once, then kept
