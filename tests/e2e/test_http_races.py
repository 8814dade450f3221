"""Issue-6 semantics under real concurrency, against the real server.

- Two PATCHes sent at once with the same If-Match: exactly one wins, the
  other gets 412, and the winner's change is the one kept.
- Retries of one POST, racing with the same Idempotency-Key: one row.
- A consumer following the change feed while writers write sees every
  change exactly once.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

API = "/api/v1"


def _get(server, path, **params):
    response = httpx.get(server.url(path), params=params, headers=server.headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def _recommendation_id(server, ref: str) -> int:
    items = _get(server, f"{API}/recommendations", limit=200).json()["items"]
    return next(r["id"] for r in items if r["ref"] == ref)


def _together(count: int, call):
    """Run ``call(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait(timeout=10)
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_patches_with_one_if_match(live_server):
    rid = _recommendation_id(live_server, "2.1")
    url = live_server.url(f"{API}/recommendations/{rid}")
    etag = _get(live_server, f"{API}/recommendations/{rid}").headers["etag"]
    targets = ["2018-09-03", "2018-09-04", "2018-09-05", "2018-09-06"]

    def patch(i):
        with httpx.Client(timeout=30) as client:
            return client.patch(
                url,
                json={"target_date": targets[i], "organisation_code": "Locala"},
                headers={**live_server.headers, "If-Match": etag},
            )

    responses = _together(len(targets), patch)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert _get(live_server, f"{API}/recommendations/{rid}").json()["target_date"] == winner["target_date"]
    revisions = _get(live_server, f"{API}/recommendations/{rid}/target-date-revisions").json()
    assert revisions["total"] == 1


def test_racing_retries_create_one_row(live_server):
    rid = _recommendation_id(live_server, "3.2")
    path = f"{API}/recommendations/{rid}/progress-updates"
    before = _get(live_server, path).json()["total"]
    body = {
        "author": "retrying client",
        "narrative": "n",
        "status": "in_progress",
        "organisation_code": "CHFT",
    }

    def post(_):
        with httpx.Client(timeout=30) as client:
            return client.post(
                live_server.url(path), json=body, headers={**live_server.headers, "Idempotency-Key": "race-1"}
            )

    responses = _together(6, post)
    statuses = [r.status_code for r in responses]
    assert all(s in (201, 409) for s in statuses), statuses
    assert 201 in statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1  # replays carry the same row
    assert _get(live_server, path).json()["total"] == before + 1
    # Once the first has finished, every retry is a replay of it.
    replay = httpx.post(
        live_server.url(path),
        json=body,
        headers={**live_server.headers, "Idempotency-Key": "race-1"},
        timeout=10,
    )
    assert replay.status_code == 201 and replay.json()["id"] in created
    assert replay.headers["idempotency-replayed"] == "true"


def test_the_change_feed_under_concurrent_writers(live_server):
    start = _get(live_server, f"{API}/changes", limit=1, after=2**31 - 1).json()["next_cursor"]
    cursor = _get(live_server, f"{API}/changes", limit=200, after=0).json()
    while cursor["has_more"]:
        cursor = _get(live_server, f"{API}/changes", limit=200, after=cursor["next_cursor"]).json()
    position = cursor["next_cursor"]
    assert start == 2**31 - 1  # nothing after a cursor beyond the end

    rid = _recommendation_id(live_server, "4.2")
    path = live_server.url(f"{API}/recommendations/{rid}/progress-updates")
    writers, per_writer = 6, 8
    stop = threading.Event()
    seen: list[int] = []

    def consume():
        nonlocal position
        with httpx.Client(timeout=10, headers=live_server.headers) as client:
            while True:
                done = stop.is_set()
                page = client.get(
                    live_server.url(f"{API}/changes"), params={"after": position, "limit": 7}
                ).json()
                seen.extend(c["cursor"] for c in page["items"] if c["entity"] == "progress_update")
                position = page["next_cursor"]
                if done and not page["has_more"]:
                    return

    def write(i):
        with httpx.Client(timeout=30) as client:
            owner = ("NKCCG", "GHCCG")[i % 2]
            return [
                client.post(
                    path,
                    json={
                        "author": f"w{i}",
                        "narrative": str(n),
                        "status": "in_progress",
                        "organisation_code": owner,
                    },
                    headers=live_server.headers,
                ).status_code
                for n in range(per_writer)
            ]

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        statuses = [s for batch in _together(writers, write) for s in batch]
    finally:
        stop.set()
        consumer.join(timeout=60)
    assert statuses.count(201) == writers * per_writer
    assert len(seen) == writers * per_writer, "every change seen"
    assert len(set(seen)) == len(seen), "no change seen twice"
    assert seen == sorted(seen)


def test_a_poll_sees_every_write_at_once(live_server):
    """A dashboard's conditional poll: 304 while nothing changes; the first poll after a
    write gets 200 with the new figures (the counter is read on every poll, and the cached
    answer is keyed by it), also while other pollers keep the cache warm."""
    summary = live_server.url(f"{API}/summary")
    first = _get(live_server, f"{API}/summary")
    etag, open_before = first.headers["etag"], first.json()

    def poll(_):
        with httpx.Client(timeout=10) as client:
            return client.get(summary, headers={**live_server.headers, "If-None-Match": etag}).status_code

    assert set(_together(8, poll)) == {304}
    rid = _recommendation_id(live_server, "3.1")  # CHFT's, not started: the counts move
    posted = httpx.post(
        live_server.url(f"{API}/recommendations/{rid}/progress-updates"),
        json={"author": "poller", "narrative": "n", "status": "in_progress", "organisation_code": "CHFT"},
        headers=live_server.headers,
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    after = httpx.get(summary, headers={**live_server.headers, "If-None-Match": etag}, timeout=10)
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json() != open_before
