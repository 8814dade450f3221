"""Conditional requests, optimistic concurrency and the change feed."""

import pytest

API = "/api/v1"


def _first(kirklees):
    rec = kirklees["recommendations"]["1.1"]
    return {
        "organisation": f"{API}/organisations/{rec['owners'][0]['organisation_id']}",
        "report": f"{API}/reports/{kirklees['report']['id']}",
        "recommendation": f"{API}/recommendations/{rec['id']}",
        "deadline": f"{API}/reports/{kirklees['report']['id']}/deadline",
        "list": f"{API}/reports/{kirklees['report']['id']}/recommendations?limit=100",
        "filtered list": f"{API}/recommendations?overdue=true",
        "report summary": f"{API}/reports/{kirklees['report']['id']}/summary",
        "portfolio summary": f"{API}/summary",
        "organisation summary": f"{API}/organisations/{rec['owners'][0]['organisation_id']}/summary",
        "progress updates": f"{API}/recommendations/{rec['id']}/progress-updates",
        "changes": f"{API}/changes",
        "audit events": f"{API}/audit-events",
    }


KINDS = list(
    _first({"recommendations": {"1.1": {"id": 1, "owners": [{"organisation_id": 1}]}}, "report": {"id": 1}})
)


def _change(client, kirklees, kind):
    """A write that changes what ``kind`` shows."""
    rec = kirklees["recommendations"]["1.1"]
    if kind == "organisation":
        return client.patch_fresh(
            _first(kirklees)["organisation"], json={"name": "Mid Yorkshire Teaching NHS Trust"}
        )
    if kind in ("report", "deadline"):
        return client.patch_fresh(_first(kirklees)["report"], json={"received_date": "2018-05-08"})
    return client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates",
        json={"author": "a", "narrative": "n", "status": "in_progress", "organisation_code": "MYHT"},
    )


@pytest.mark.parametrize("kind", KINDS)
def test_304_until_something_changes(client, kirklees, kind):
    url = _first(kirklees)[kind]
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b"" and again.headers["etag"] == etag

    assert _change(client, kirklees, kind).status_code in (200, 201)
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag


def test_a_new_day_is_a_new_etag(client, kirklees):
    url = _first(kirklees)["recommendation"]
    today = client.get(url)
    later = client.get(url, params={"as_of": "2018-08-01"}, headers={"If-None-Match": today.headers["etag"]})
    assert later.status_code == 200 and later.headers["etag"] != today.headers["etag"]


def test_if_none_match_takes_a_list_and_weak_tags(client, kirklees):
    url = _first(kirklees)["portfolio summary"]
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304


@pytest.mark.parametrize("kind", ["organisation", "report", "recommendation"])
def test_patch_needs_if_match(client, kirklees, problem, kind):
    url = _first(kirklees)[kind]
    body = {
        "organisation": {"name": "X"},
        "report": {"area": "X"},
        "recommendation": {"target_date": "2018-09-28", "organisation_code": "MYHT"},
    }[kind]
    problem(client.patch(url, json=body), 428, code="precondition_required")
    etag = client.get(url).headers["etag"]
    first = client.patch(url, json=body, headers={"If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    # A second change from the same stale view loses, and nothing is overwritten.
    stale = client.patch(url, json={**body}, headers={"If-Match": etag})
    problem(stale, 412, code="precondition_failed")
    assert client.get(url).headers["etag"] == first.headers["etag"]
    problem(client.patch(url, json=body, headers={"If-Match": "garbage"}), 412)


def test_if_match_from_another_day_still_proves_the_version(client, kirklees):
    url = _first(kirklees)["report"]
    old_day_tag = client.get(url, params={"as_of": "2018-05-20"}).headers["etag"]
    assert client.patch(url, json={"area": "Kirklees"}, headers={"If-Match": old_day_tag}).status_code == 200


def test_the_change_feed_follows_cursors(client, kirklees):
    start = client.get(f"{API}/changes", params={"limit": 200})
    body = start.json()
    assert body["items"], "the seed and the keys are changes too"
    cursor = body["next_cursor"]
    assert client.get(f"{API}/changes", params={"after": cursor}).json() == {
        "items": [],
        "next_cursor": cursor,
        "has_more": False,
    }
    for target in ("2018-09-28", "2018-10-31"):
        client.patch_fresh(
            _first(kirklees)["recommendation"], json={"target_date": target, "organisation_code": "MYHT"}
        )
    _change(client, kirklees, "recommendation")
    seen = []
    while True:
        page = client.get(f"{API}/changes", params={"after": cursor, "limit": 1}).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [(c["entity"], c["action"]) for c in seen] == [
        ("recommendation", "change_target_date"),
        ("recommendation", "change_target_date"),
        ("progress_update", "create"),
    ]
    assert [c["cursor"] for c in seen] == sorted(c["cursor"] for c in seen)


@pytest.mark.parametrize(
    "kind", ["list", "filtered list", "report summary", "portfolio summary", "organisation summary"]
)
def test_a_cached_answer_is_the_computed_one_with_its_headers(client, kirklees, kind):
    """Answers are kept serialised: the second is sent from memory, byte for byte the first,
    with the same ETag, Cache-Control and (for a page) Link; a change makes a new one."""
    url = _first(kirklees)[kind]
    computed, cached = client.get(url), client.get(url)
    assert computed.status_code == cached.status_code == 200
    assert cached.content == computed.content
    assert cached.headers["content-type"] == "application/json"
    for header in ("etag", "cache-control", "link"):
        assert cached.headers.get(header) == computed.headers.get(header)
    if "list" in kind:
        assert "rel=" in cached.headers["link"]
    assert _change(client, kirklees, kind).status_code in (200, 201)
    changed = client.get(url)
    assert changed.headers["etag"] != computed.headers["etag"]
