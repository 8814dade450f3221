"""A write moves on only the cached answers and ETags of what it touched (app.domain.scopes):
those about other reports, organisations and recommendations stay, and are still answered from
memory; those it touched are never served stale."""

import pytest
from starlette.datastructures import QueryParams

from app.api import answer_scopes
from app.api.middleware.answer_cache import AnswerKey, StoredAnswer, answer_key
from app.services import change_scopes
from tests.api.test_reports import new_report

API = "/api/v1"
PLANTED = b'{"planted": true}'
ORIGIN = ("http", "testserver", "")


@pytest.fixture
def two_reports(client, kirklees) -> dict:
    """Kirklees, and a second report whose one recommendation LTHT alone owns (LTHT owns nothing
    in Kirklees and is due no action plan there)."""
    organisation = client.post(
        f"{API}/organisations", json={"code": "LTHT", "name": "Leeds Teaching Hospitals", "kind": "nhs_trust"}
    ).json()
    report = client.post(f"{API}/reports", json=new_report(action_plan_organisations=["LTHT"])).json()
    recommendation = client.post(
        f"{API}/reports/{report['id']}/recommendations",
        json={"ref": "1", "text": "Review the records.", "owners": ["LTHT"]},
    ).json()
    written = kirklees["recommendations"]["1.1"]
    myht = next(o for o in written["owners"] if o["code"] == "MYHT")
    return {
        "written": {
            "recommendation": f"{API}/recommendations/{written['id']}/progress-updates",
            "report summary": f"{API}/reports/{written['report_id']}/summary",
            "report list": f"{API}/reports/{written['report_id']}/recommendations",
            "report list by query": f"{API}/recommendations?report_id={written['report_id']}",
            "organisation": f"{API}/organisations/{myht['organisation_id']}/summary",
            "portfolio": f"{API}/summary",
        },
        "unrelated": {
            "recommendation": f"{API}/recommendations/{recommendation['id']}/progress-updates",
            "report summary": f"{API}/reports/{report['id']}/summary",
            "report list": f"{API}/reports/{report['id']}/recommendations",
            "report list by query": f"{API}/recommendations?report_id={report['id']}",
            "organisation": f"{API}/organisations/{organisation['id']}/summary",
            "organisation list": f"{API}/organisations",
        },
        "written_id": written["id"],
        "other_report": report,
    }


def _progress(client, recommendation_id: int):
    answer = client.post(
        f"{API}/recommendations/{recommendation_id}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"},
    )
    assert answer.status_code == 201, answer.text
    return answer


def _etags(client, paths: dict[str, str]) -> dict[str, str]:
    answers = {name: client.get(path) for name, path in paths.items()}
    assert all(a.status_code == 200 for a in answers.values()), {n: a.text for n, a in answers.items()}
    return {name: answer.headers["etag"] for name, answer in answers.items()}


def _plant(app, clock, etag: str) -> None:
    """Put a body the route could never give in place of the one held for ``etag``, so that
    seeing it again proves the held answer was kept and used."""
    version, digest = etag.removeprefix('W/"').removesuffix('"').split("-")
    key = AnswerKey(int(version), digest, clock.today())
    held = app.state.answer_store.get(key, ORIGIN)
    assert held is not None and held.body is not None
    app.state.answer_store.put(key, ORIGIN, StoredAnswer(held.headers, PLANTED))


def test_a_progress_update_moves_only_what_it_touched(client, app, clock, two_reports):
    before_written = _etags(client, two_reports["written"])
    before_unrelated = _etags(client, two_reports["unrelated"])
    for etag in before_unrelated.values():
        _plant(app, clock, etag)

    _progress(client, two_reports["written_id"])

    for name, path in two_reports["unrelated"].items():
        kept = client.get(path, headers={"If-None-Match": before_unrelated[name]})
        assert kept.status_code == 304, name
        assert client.get(path).content == PLANTED, name  # still answered from memory
    after_written = _etags(client, two_reports["written"])
    for name in two_reports["written"]:
        assert after_written[name] != before_written[name], name
        path = two_reports["written"][name]
        assert client.get(path, headers={"If-None-Match": before_written[name]}).status_code == 200, name
    summary = client.get(two_reports["written"]["organisation"]).json()
    assert summary["by_status"]["in_progress"] >= 1


def test_a_rename_moves_every_answer_that_shows_the_name(client, two_reports):
    watched = {**two_reports["written"], "unrelated report": two_reports["unrelated"]["report summary"]}
    before = _etags(client, watched)
    organisation_path = two_reports["written"]["organisation"].removesuffix("/summary")
    organisation = client.get(organisation_path)
    renamed = client.patch(
        organisation_path,
        json={"name": "Mid Yorkshire Teaching NHS Trust"},
        headers={"If-Match": organisation.headers["etag"]},
    )
    assert renamed.status_code == 200, renamed.text
    after = _etags(client, watched)
    assert all(after[name] != before[name] for name in watched)
    breakdown = client.get(two_reports["written"]["report summary"]).json()["organisations"]
    assert "Mid Yorkshire Teaching NHS Trust" in {o["name"] for o in breakdown}


def test_a_report_change_moves_its_recommendations_and_their_owners_only(client, two_reports):
    report = two_reports["other_report"]
    unrelated, written = two_reports["unrelated"], two_reports["written"]
    before_unrelated, before_written = _etags(client, unrelated), _etags(client, written)
    current = client.get(f"{API}/reports/{report['id']}")
    changed = client.patch(
        f"{API}/reports/{report['id']}",
        json={"working_days_allowed": 30},
        headers={"If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    after_unrelated, after_written = _etags(client, unrelated), _etags(client, written)
    for name in ("recommendation", "report summary", "report list", "report list by query", "organisation"):
        assert after_unrelated[name] != before_unrelated[name], name
    assert after_unrelated["organisation list"] == before_unrelated["organisation list"]
    for name in written:
        if name != "portfolio":
            assert after_written[name] == before_written[name], name
    assert after_written["portfolio"] != before_written["portfolio"]


# -- the recommendation detail: kept per version of what it shows, with its own strong ETag ---------


def _detail_key(session, clock, recommendation_id: int) -> AnswerKey:
    session.rollback()  # a fresh snapshot
    path = f"{API}/recommendations/{recommendation_id}"
    wanted = answer_scopes.recommendation(
        {"recommendation_id": str(recommendation_id)}, QueryParams(""), True
    )
    return answer_key(change_scopes.answer_version(session.connection(), wanted), path, [], clock.today())


def _plant_detail(app, session, clock, recommendation_id: int) -> None:
    key = _detail_key(session, clock, recommendation_id)
    held = app.state.answer_store.get(key, ORIGIN)
    assert held is not None and held.body is not None, "the route's answer should have been kept"
    app.state.answer_store.put(key, ORIGIN, StoredAnswer(held.headers, PLANTED))


def test_the_detail_is_answered_from_memory_with_its_strong_etag(client, app, session, clock, kirklees):
    recommendation = kirklees["recommendations"]["1.1"]
    path = f"{API}/recommendations/{recommendation['id']}"
    computed = client.get(path)
    etag = computed.headers["etag"]
    assert computed.status_code == 200 and not etag.startswith("W/")
    _plant_detail(app, session, clock, recommendation["id"])
    from_memory = client.get(path)
    assert from_memory.content == PLANTED
    assert from_memory.headers["etag"] == etag and from_memory.headers["cache-control"] == "private, no-cache"
    not_modified = client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    version, day = etag.strip('"').split(".")  # what If-Match reads: the version, then the day
    assert version.isdigit() and day == f"{clock.today():%Y%m%d}"


def test_the_detail_stays_kept_until_a_write_touches_what_it_shows(client, app, session, clock, kirklees):
    kept, written = kirklees["recommendations"]["1.2"], kirklees["recommendations"]["1.1"]
    kept_path, written_path = f"{API}/recommendations/{kept['id']}", f"{API}/recommendations/{written['id']}"
    first_kept, first_written = client.get(kept_path), client.get(written_path)
    _plant_detail(app, session, clock, kept["id"])

    _progress(client, written["id"])  # the same report, another recommendation

    assert client.get(kept_path).content == PLANTED
    after = client.get(written_path, headers={"If-None-Match": first_written.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first_written.headers["etag"]
    myht = next(o for o in after.json()["owners"] if o["code"] == "MYHT")
    assert myht["status"] == "in_progress"

    owner = first_kept.json()["owners"][0]
    organisation = client.get(f"{API}/organisations/{owner['organisation_id']}")
    renamed = client.patch(
        f"{API}/organisations/{owner['organisation_id']}",
        json={"name": "A New Name NHS Trust"},
        headers={"If-Match": organisation.headers["etag"]},
    )
    assert renamed.status_code == 200
    shown = client.get(kept_path)
    assert shown.status_code == 200 and shown.content != PLANTED
    assert shown.json()["owners"][0]["name"] == "A New Name NHS Trust"


# -- the detail's strong ETag changes whenever what it shows does ---------------------------------


def test_renaming_an_owner_gives_its_recommendations_new_etags(client, kirklees):
    recommendation = kirklees["recommendations"]["1.1"]
    path = f"{API}/recommendations/{recommendation['id']}"
    before = client.get(path).headers["etag"]
    unowned = f"{API}/recommendations/{kirklees['recommendations']['9.1']['id']}"  # MYHT owns no 9.x
    unowned_before = client.get(unowned).headers["etag"]
    myht = next(o for o in recommendation["owners"] if o["code"] == "MYHT")
    organisation = client.get(f"{API}/organisations/{myht['organisation_id']}")
    renamed = client.patch(
        f"{API}/organisations/{myht['organisation_id']}",
        json={"name": "Mid Yorkshire Teaching NHS Trust"},
        headers={"If-Match": organisation.headers["etag"]},
    )
    assert renamed.status_code == 200, renamed.text
    after = client.get(path, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before
    assert "Mid Yorkshire Teaching NHS Trust" in {o["name"] for o in after.json()["owners"]}
    assert "MYHT" not in {o["code"] for o in kirklees["recommendations"]["9.1"]["owners"]}
    assert client.get(unowned).headers["etag"] == unowned_before


def test_a_new_calendar_gives_targeted_recommendations_new_etags_and_figures(client, kirklees, clock):
    recommendation = kirklees["recommendations"]["1.2"]
    path = f"{API}/recommendations/{recommendation['id']}"
    targeted = client.patch_fresh(
        path, json={"target_date": "2018-06-29", "organisation_code": "MYHT", "reason": "r"}
    )
    assert targeted.status_code == 200, targeted.text
    before = client.get(path, params={"as_of": "2018-07-13"})
    report = client.get(f"{API}/reports/{recommendation['report_id']}")
    changed = client.patch(
        f"{API}/reports/{recommendation['report_id']}",
        json={"calendar": "northern-ireland"},  # 12 July 2018, a holiday there, is no working day
        headers={"If-Match": report.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    after = client.get(
        path, params={"as_of": "2018-07-13"}, headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.json()["effective_due_date"] == before.json()["effective_due_date"] == "2018-06-29"
    assert after.json()["working_days_overdue"] == before.json()["working_days_overdue"] - 1
