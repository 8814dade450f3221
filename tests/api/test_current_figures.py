"""The answers that read the current figures (``app.domain.scopes.FIGURES``): the portfolio,
report and organisation summaries as of today and the lists across reports as of today keep
their ETags and cached answers through writes that move no figure (most progress updates
restate a status), change them on every write that does, and never show anything stale.

The oracle: the same request to a second application built by ``create_app`` on the same
database, which has kept nothing yet and so computes every answer afresh.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session

from app.api.middleware.answer_cache import answer_key
from app.clock import FixedClock
from app.domain.access import SYSTEM
from app.main import create_app
from app.schemas.progress import ProgressUpdateCreate
from app.services import progress
from app.services import recommendations as recommendations_service
from tests.conftest import Served, counted_calls, read_at_once

API = "/api/v1"
ORIGIN = ("http", "testserver", "")
PLANTED = b'{"planted": true}'
SUMMARY = f"{API}/summary"
PAST_SUMMARY = f"{API}/summary?as_of=2018-06-25"
OVERDUE = f"{API}/recommendations?overdue=true&sort=days_overdue&limit=5"
BY_STATUS = f"{API}/recommendations?status=in_progress&status=not_started&limit=5&sort=-due_date"
PAST_OVERDUE = f"{API}/recommendations?overdue=true&sort=days_overdue&limit=5&as_of=2018-06-25"


@pytest.fixture
def fresh(settings, session, clock, client) -> Iterator[Callable[[str], bytes]]:
    """The body a second application, which has kept no answer, gives for ``path`` now."""
    oracle = create_app(settings)
    oracle.state.clock = clock
    with Served(oracle, session) as served:

        def read(path: str) -> bytes:
            answer = served.get(path, headers=client.headers)
            assert answer.status_code == 200, answer.text
            return answer.content

        yield read
    oracle.state.engine.dispose()


def _progress(client, recommendation: dict, status: str, code: str | None = None, reported_on=None):
    body = {"author": "a", "narrative": "n", "status": status}
    body["organisation_code"] = code or recommendation["owners"][0]["code"]
    if reported_on:
        body["reported_on"] = reported_on
    answer = client.post(f"{API}/recommendations/{recommendation['id']}/progress-updates", json=body)
    assert answer.status_code == 201, answer.text


def _read(client, path: str, fresh) -> tuple[str, bytes]:
    """The ETag and body ``path`` is answered with now, checked against a fresh computation."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.content == fresh(path), path
    return answer.headers["etag"], answer.content


def _unchanged(client, path: str, etag: str, body: bytes) -> None:
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304, path
    again = client.get(path)
    assert again.headers["etag"] == etag and again.content == body, path


def _changed(client, path: str, etag: str, fresh) -> tuple[str, bytes]:
    answer = client.get(path, headers={"If-None-Match": etag})
    assert answer.status_code == 200, path
    assert answer.headers["etag"] != etag and answer.content == fresh(path), path
    return answer.headers["etag"], answer.content


# -- the portfolio summary ---------------------------------------------------------------------


def test_a_progress_update_that_moves_no_count_keeps_the_current_summary(client, kirklees, fresh):
    first = kirklees["recommendations"]["1.1"]
    _progress(client, first, "in_progress")  # from not started: the counts move
    etag, body = _read(client, SUMMARY, fresh)
    past_etag, _ = _read(client, PAST_SUMMARY, fresh)

    _progress(client, first, "in_progress")  # the same status again

    _unchanged(client, SUMMARY, etag, body)
    assert client.get(PAST_SUMMARY).headers["etag"] != past_etag  # the past follows every write
    assert client.get(SUMMARY).content == fresh(SUMMARY)


def test_a_backdated_update_behind_a_later_one_changes_the_past_summary_only(client, kirklees, fresh):
    first = kirklees["recommendations"]["1.1"]
    _progress(client, first, "in_progress")
    etag, body = _read(client, SUMMARY, fresh)
    past_etag, past_body = _read(client, PAST_SUMMARY, fresh)

    # Reported as of 20 June: the update of today is still the latest, so today's figures stay;
    # as of 25 June, 1.1 was in progress now.
    _progress(client, first, "in_progress", reported_on="2018-06-20")

    _unchanged(client, SUMMARY, etag, body)
    _, new_past = _changed(client, PAST_SUMMARY, past_etag, fresh)
    assert new_past != past_body


def _rename(client, kirklees) -> None:
    myht = next(o for o in kirklees["recommendations"]["1.1"]["owners"] if o["code"] == "MYHT")
    answer = client.patch_fresh(
        f"{API}/organisations/{myht['organisation_id']}", json={"name": "Mid Yorkshire Teaching NHS Trust"}
    )
    assert answer.status_code == 200, answer.text


def _move_the_deadline(client, kirklees) -> None:
    answer = client.patch_fresh(
        f"{API}/reports/{kirklees['report']['id']}", json={"working_days_allowed": 45}
    )
    assert answer.status_code == 200, answer.text


def _add_a_recommendation(client, kirklees) -> None:
    answer = client.post(
        f"{API}/reports/{kirklees['report']['id']}/recommendations",
        json={"ref": "10.1", "text": "A new one.", "owners": ["MYHT"]},
    )
    assert answer.status_code == 201, answer.text


def _add_a_report(client, kirklees) -> None:
    answer = client.post(
        f"{API}/reports",
        json={
            "slug": "wakefield-clas-2015",
            "title": "Wakefield review",
            "regulator": "Care Quality Commission",
            "published_date": "2015-12-18",
            "action_plan_organisations": ["MYHT"],
        },
    )
    assert answer.status_code == 201, answer.text


def _change_a_target_date(client, kirklees) -> None:
    path = f"{API}/recommendations/{kirklees['recommendations']['1.2']['id']}"
    answer = client.patch_fresh(
        path, json={"target_date": "2018-09-28", "organisation_code": "MYHT", "reason": "r"}
    )
    assert answer.status_code == 200, answer.text


WRITES = {
    "a status changed": lambda client, k: _progress(client, k["recommendations"]["1.1"], "in_progress"),
    "a backdated status, the latest": lambda client, k: _progress(
        client, k["recommendations"]["1.1"], "in_progress", reported_on="2018-06-20"
    ),
    "an owner renamed": _rename,
    "the report's deadline moved": _move_the_deadline,
    "a recommendation added": _add_a_recommendation,
    "a report added": _add_a_report,
    "a target date changed": _change_a_target_date,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_that_moves_a_figure_changes_the_current_summary(client, kirklees, fresh, write):
    etag, body = _read(client, SUMMARY, fresh)
    write(client, kirklees)
    _, after = _changed(client, SUMMARY, etag, fresh)
    assert after != body


# -- a report's and an organisation's summary -----------------------------------------------------


def _summaries(kirklees) -> dict[str, str]:
    """The report's summary and its owner MYHT's, as of today and as of a past day."""
    report = f"{API}/reports/{kirklees['report']['id']}/summary"
    myht = next(o for o in kirklees["recommendations"]["1.1"]["owners"] if o["code"] == "MYHT")
    organisation = f"{API}/organisations/{myht['organisation_id']}/summary"
    return {
        "report": report,
        "past report": f"{report}?as_of=2018-06-25",
        "organisation": organisation,
        "past organisation": f"{organisation}?as_of=2018-06-25",
    }


def test_a_progress_update_that_moves_no_count_keeps_the_current_report_and_organisation_summaries(
    client, kirklees, fresh
):
    first = kirklees["recommendations"]["1.1"]
    _progress(client, first, "in_progress", code="MYHT")  # from not started: the counts move
    paths = _summaries(kirklees)
    read = {name: _read(client, path, fresh) for name, path in paths.items()}

    _progress(client, first, "in_progress", code="MYHT")  # the same status again

    for name in ("report", "organisation"):
        _unchanged(client, paths[name], *read[name])
    for name in ("past report", "past organisation"):  # the past follows every progress update
        _changed(client, paths[name], read[name][0], fresh)


def test_a_backdated_update_behind_a_later_one_changes_the_past_report_summary_only(client, kirklees, fresh):
    first = kirklees["recommendations"]["1.1"]
    _progress(client, first, "in_progress", code="MYHT")
    paths = _summaries(kirklees)
    read = {name: _read(client, path, fresh) for name, path in paths.items()}

    _progress(client, first, "in_progress", code="MYHT", reported_on="2018-06-20")

    for name in ("report", "organisation"):
        _unchanged(client, paths[name], *read[name])
    for name in ("past report", "past organisation"):
        _, body = _changed(client, paths[name], read[name][0], fresh)
        assert body != read[name][1]


REPORT_WRITES = {
    name: WRITES[name]
    for name in (
        "a status changed",
        "a backdated status, the latest",
        "an owner renamed",
        "the report's deadline moved",
        "a recommendation added",
        "a target date changed",
    )
}


@pytest.mark.parametrize("write", REPORT_WRITES.values(), ids=REPORT_WRITES.keys())
def test_every_write_that_moves_a_figure_changes_the_current_report_summary(client, kirklees, fresh, write):
    path = _summaries(kirklees)["report"]
    etag, body = _read(client, path, fresh)
    write(client, kirklees)
    _, after = _changed(client, path, etag, fresh)
    assert after != body


# 1.1 is MYHT's alone; the report added is due an action plan from MYHT.
ORGANISATION_WRITES = {
    name: WRITES[name]
    for name in (
        "a status changed",
        "an owner renamed",
        "the report's deadline moved",
        "a recommendation added",
        "a report added",
    )
}


@pytest.mark.parametrize("write", ORGANISATION_WRITES.values(), ids=ORGANISATION_WRITES.keys())
def test_every_write_that_moves_its_figures_changes_the_current_organisation_summary(
    client, kirklees, fresh, write
):
    path = _summaries(kirklees)["organisation"]
    etag, body = _read(client, path, fresh)
    write(client, kirklees)
    _, after = _changed(client, path, etag, fresh)
    assert after != body


# -- the list across reports ---------------------------------------------------------------------


def _items(body: bytes) -> list[dict]:
    return json.loads(body)["items"]


def _overdue(client) -> list[dict]:
    answer = client.get(
        f"{API}/recommendations", params={"overdue": "true", "limit": 100, "as_of": "2018-07-02"}
    )
    return answer.json()["items"]


def _plant(app, clock, path: str) -> None:
    """Put a body the route could never give in place of the one kept for ``path``."""
    base, query = path.split("?")
    pairs = [tuple(pair.split("=")) for pair in query.split("&")]
    store = app.state.answer_store
    key, kept = store.latest(answer_key(0, base, pairs, clock.today(), listed=True), ORIGIN)
    assert kept.body is not None
    store.put(key, ORIGIN, replace(kept, body=PLANTED))


@pytest.fixture
def overdue(client, kirklees) -> dict:
    """The overdue page as of today lists five of the overdue recommendations; the others are
    unlisted. Each first owner of two of them (one listed, one not) is already in progress."""
    every = _overdue(client)
    listed_ids = [item["id"] for item in _items(client.get(OVERDUE).content)]
    assert len(listed_ids) == 5 and len(every) > 5
    listed = next(r for r in every if r["id"] == listed_ids[0])
    unlisted = next(r for r in every if r["id"] not in listed_ids)
    _progress(client, listed, "in_progress")
    _progress(client, unlisted, "in_progress")
    return {"listed": listed, "unlisted": unlisted}


def test_the_overdue_page_keeps_through_a_write_on_an_unlisted_item_that_moves_no_count(
    client, app, clock, overdue, fresh
):
    etag, _ = _read(client, OVERDUE, fresh)
    _plant(app, clock, OVERDUE)
    assert client.get(OVERDUE).content == PLANTED  # from memory

    _progress(client, overdue["unlisted"], "in_progress")

    assert client.get(OVERDUE, headers={"If-None-Match": etag}).status_code == 304
    kept = client.get(OVERDUE)
    assert kept.content == PLANTED and kept.headers["etag"] == etag  # still the kept answer


def test_the_overdue_page_changes_when_a_listed_item_is_written(client, app, clock, overdue, fresh):
    etag, body = _read(client, OVERDUE, fresh)
    before = next(i for i in _items(body) if i["id"] == overdue["listed"]["id"])
    app.state.clock = FixedClock(at=clock.at + timedelta(minutes=5))  # the same day, later

    _progress(client, overdue["listed"], "in_progress")  # no count moves, but its updated_at does

    _, after = _changed(client, OVERDUE, etag, fresh)
    now = next(i for i in _items(after) if i["id"] == overdue["listed"]["id"])
    assert now["status"] == before["status"] and now["updated_at"] != before["updated_at"]


def test_the_overdue_page_keeps_through_an_unlisted_item_moving_a_count_but_staying_open(
    client, overdue, fresh
):
    etag, body = _read(client, OVERDUE, fresh)
    by_status, _ = _read(client, BY_STATUS, fresh)
    _progress(client, overdue["unlisted"], "not_started")  # still open, still overdue
    _unchanged(client, OVERDUE, etag, body)
    _changed(client, BY_STATUS, by_status, fresh)  # a list by status follows every count


def test_the_overdue_page_changes_when_an_unlisted_item_is_done(client, overdue, fresh):
    unlisted = overdue["unlisted"]
    codes = [owner["code"] for owner in unlisted["owners"]]
    for code in codes:
        evidence = {"url": "https://example.org/evidence", "title": "Evidence", "organisation_code": code}
        added = client.post(f"{API}/recommendations/{unlisted['id']}/evidence-links", json=evidence)
        assert added.status_code == 201, added.text
    for code in codes[1:]:
        _progress(client, unlisted, "implemented", code)  # the others first: still open
    etag, body = _read(client, OVERDUE, fresh)
    _progress(client, unlisted, "implemented", codes[0])  # the last owner: done, no longer overdue
    _, after = _changed(client, OVERDUE, etag, fresh)
    assert json.loads(after)["total"] == json.loads(body)["total"] - 1


def test_the_overdue_page_follows_membership_renames_and_deadlines(client, kirklees, overdue, fresh):
    etag, _ = _read(client, OVERDUE, fresh)
    _rename(client, kirklees)  # every item shows its owners' names
    etag, _ = _changed(client, OVERDUE, etag, fresh)
    _move_the_deadline(client, kirklees)  # nothing of Kirklees is overdue any more
    etag, body = _changed(client, OVERDUE, etag, fresh)
    assert _items(body) == []
    _, _ = _read(client, OVERDUE, fresh)


def test_the_overdue_page_of_a_past_day_follows_every_write(client, overdue, fresh):
    etag, _ = _read(client, PAST_OVERDUE, fresh)
    _progress(client, overdue["unlisted"], "in_progress")
    _changed(client, PAST_OVERDUE, etag, fresh)


def test_every_worker_gives_the_same_etag_for_the_same_state(
    client, overdue, fresh, settings, session, clock
):
    etag, _ = _read(client, OVERDUE, fresh)
    oracle = create_app(settings)
    oracle.state.clock = clock
    with Served(oracle, session) as served:
        assert served.get(OVERDUE, headers=client.headers).headers["etag"] == etag
        assert served.get(OVERDUE, headers={**client.headers, "If-None-Match": etag}).status_code == 304
    oracle.state.engine.dispose()


def test_a_page_computed_before_a_write_on_what_it_lists_is_never_served_after_it(
    client, app, overdue, fresh, monkeypatch
):
    """The write commits after the page's queries read the database, so the page does not show
    it. On SQLite the page is tagged by the versions in the snapshot it read (before the write);
    elsewhere it goes out untagged. Either way the next request gets the page afresh."""
    real = recommendations_service.list_recommendations
    listed = overdue["listed"]

    def computed_then_written(*args, **kwargs):
        page = real(*args, **kwargs)
        with Session(app.state.writers_engine) as writer:
            progress.record_progress(
                writer,
                actor=SYSTEM,
                recommendation_id=listed["id"],
                data=ProgressUpdateCreate(
                    author="a",
                    narrative="n",
                    status="in_progress",
                    organisation_code=listed["owners"][0]["code"],
                ),
                today=app.state.clock.today(),
                now=app.state.clock.now() + timedelta(minutes=5),
            )
        return page

    monkeypatch.setattr(recommendations_service, "list_recommendations", computed_then_written)
    raced = client.get(OVERDUE)
    monkeypatch.setattr(recommendations_service, "list_recommendations", real)
    assert raced.status_code == 200
    if app.state.engine.dialect.name == "sqlite":
        held = raced.headers["etag"]
    else:
        assert "etag" not in raced.headers
        held = 'W/"0-none"'
    current = client.get(OVERDUE, headers={"If-None-Match": held})
    assert current.status_code == 200 and current.headers["etag"] != held
    assert current.content == fresh(OVERDUE) != raced.content


def test_readers_asking_for_a_page_being_computed_share_it(client, app, served, overdue, monkeypatch):
    """After a write on what it lists, the first reader computes the page; the others wait for it."""
    client.get(OVERDUE)  # the key is now cached, its use recorded
    _progress(client, overdue["listed"], "in_progress")
    computed = counted_calls(monkeypatch, recommendations_service, "list_recommendations")
    answers = read_at_once(app, served, OVERDUE, client.headers)
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.content for a in answers}) == 1 and len({a.headers["etag"] for a in answers}) == 1
    assert len(computed) == 1
