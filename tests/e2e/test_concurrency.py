"""Many writers at once on one recommendation, through the real server.

Kirklees recommendation 6.1 is owned jointly by SWYPFT, CHFT and MYHT. Eight
clients post ten progress updates each, spread over the three owners, at the
same time. Every one must be recorded (201: no 500, no 503, no "database is
locked"), listed once, and the roll-up must be right.

All-"in_progress" updates make the final answer certain but forgive a lost
update once every owner has moved. So a second storm, on 7.1 (NKCCG, GHCCG,
Locala), flips owners between "not_started" and "in_progress" until the very
end: each owner's status must then be that of its latest update, and the
recommendation's the least advanced of them. Without the row lock that makes
writers roll up in turn, two owners' updates committed side by side each roll
up from a snapshot that misses the other, and these checks fail.

The same runs again against a second server with two worker processes
(``uvicorn --workers 2``) on the same database, on other recommendations.
"""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.procfs import worker_pids

THREADS = 8
REQUESTS_PER_THREAD = 10
STATUS_ORDER = ("not_started", "in_progress", "implemented")

# (thread, n) -> the status to post
StatusFor = Callable[[int, int], str]


def _always_in_progress(thread: int, n: int) -> str:
    return "in_progress"


def _flip_flop(thread: int, n: int) -> str:
    return ("not_started", "in_progress")[(thread * 7 + n) % 2]


def _recommendation(server, ref: str, owner: str) -> dict:
    """Kirklees recommendation ``ref``, found as the API user would: by an owner's code."""
    response = httpx.get(
        server.url("/api/v1/recommendations"),
        params={"organisation_id": owner, "limit": 200},
        headers=server.headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    matches = [r for r in response.json()["items"] if r["ref"] == ref]
    assert len(matches) == 1, [r["ref"] for r in response.json()["items"]]
    return matches[0]


def _get(server, path: str, **params) -> dict:
    response = httpx.get(server.url(path), params=params, headers=server.headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _hammer(
    server, recommendation_id: int, owners: tuple[str, ...], status_for: StatusFor
) -> list[tuple[int, str, str]]:
    """THREADS clients x REQUESTS_PER_THREAD posts, all released at once."""
    path = server.url(f"/api/v1/recommendations/{recommendation_id}/progress-updates")
    start = threading.Barrier(THREADS)

    def writer(thread: int) -> list[tuple[int, str, str]]:
        results = []
        with httpx.Client(timeout=30) as client:
            start.wait(timeout=10)
            for n in range(REQUESTS_PER_THREAD):
                owner = owners[(thread + n) % len(owners)]
                try:
                    response = client.post(
                        path,
                        headers=server.headers,
                        json={
                            "organisation_code": owner,
                            "author": f"e2e writer {thread}",
                            "narrative": f"Concurrent update {n} from writer {thread} for {owner}.",
                            "status": status_for(thread, n),
                        },
                    )
                    results.append((response.status_code, owner, response.text))
                except httpx.HTTPError as error:
                    results.append((0, owner, repr(error)))
        return results

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        batches = list(pool.map(writer, range(THREADS)))
    return [result for batch in batches for result in batch]


def _tail(log: str, lines: int = 20) -> str:
    """The server's last log lines, each exception cut down to its final line."""
    out = []
    for line in log.splitlines()[-lines:]:
        try:
            entry = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if not isinstance(entry, dict):
            out.append(line)
            continue
        exception = str(entry.get("exception", "")).strip().splitlines()
        out.append(
            f"{entry.get('level')} {entry.get('message')}" + (f": {exception[-1]}" if exception else "")
        )
    return "\n".join(out)


def _storm(server, ref: str, owners: tuple[str, ...], status_for: StatusFor) -> dict:
    """Run the writers on ``ref``; check every post is recorded once; the recommendation after."""
    rid = _recommendation(server, ref, owners[0])["id"]
    assert sorted(o["code"] for o in _get(server, f"/api/v1/recommendations/{rid}")["owners"]) == sorted(
        owners
    )
    updates = f"/api/v1/recommendations/{rid}/progress-updates"
    before = _get(server, updates, limit=1)["total"]

    started = time.monotonic()
    results = _hammer(server, rid, owners, status_for)
    elapsed = time.monotonic() - started

    statuses = Counter(status for status, _, _ in results)
    failures = [(status, owner, body[:300]) for status, owner, body in results if status != 201]
    assert not failures, (
        f"{statuses} in {elapsed:.1f}s; first failures: {failures[:5]}\n"
        f"--- server log (last lines) ---\n{_tail(server.log())}"
    )
    assert not any("database is locked" in body for _, _, body in results)
    # Nor did anything behind the answers give up waiting for the database.
    assert "database busy" not in server.log() and "database unavailable" not in server.log()
    created = statuses[201]
    assert created == THREADS * REQUESTS_PER_THREAD
    assert {owner for _, owner, _ in results} == set(owners)

    # Every 201 is listed, once.
    listed = _get(server, updates, limit=200)
    assert listed["total"] == before + created
    ids = [item["id"] for item in listed["items"]]
    assert len(ids) == len(set(ids)) == before + created
    created_ids = {json.loads(body)["id"] for _, _, body in results}
    assert created_ids <= set(ids)

    recommendation = _get(server, f"/api/v1/recommendations/{rid}")
    recommendation["progress_updates"] = listed["items"]
    return recommendation


def _latest_by_owner(updates: list[dict]) -> dict[str, str]:
    """Each owner's status from its latest update: by reported_on, then by entry order."""
    latest: dict[str, dict] = {}
    for update in sorted(updates, key=lambda u: (u["reported_on"], u["id"])):
        latest[update["organisation_code"]] = update
    return {code: update["status"] for code, update in latest.items()}


def _check_concurrent_writes(server, ref: str, owners: tuple[str, ...]) -> None:
    assert _recommendation(server, ref, owners[0])["status"] == "not_started"
    after = _storm(server, ref, owners, _always_in_progress)
    # Each owner's latest status is in_progress, and so is the roll-up.
    assert {o["code"]: o["status"] for o in after["owners"]} == dict.fromkeys(owners, "in_progress")
    assert after["status"] == "in_progress"


def _check_concurrent_status_changes(server, ref: str, owners: tuple[str, ...]) -> None:
    after = _storm(server, ref, owners, _flip_flop)
    expected = _latest_by_owner(after["progress_updates"])
    assert {o["code"]: o["status"] for o in after["owners"]} == expected
    least = min(expected.values(), key=STATUS_ORDER.index)
    assert after["status"] == least, (after["status"], expected)


def _worker_processes(pid: int) -> int | None:
    """How many multiprocessing children ``pid`` has (uvicorn's workers), or None off Linux."""
    return len(worker_pids(pid)) if Path("/proc").is_dir() else None


def test_concurrent_progress_updates_on_one_recommendation(live_server):
    _check_concurrent_writes(live_server, "6.1", ("SWYPFT", "CHFT", "MYHT"))


def test_concurrent_status_changes_roll_up_consistently(live_server):
    _check_concurrent_status_changes(live_server, "7.1", ("NKCCG", "GHCCG", "Locala"))


def test_concurrent_writes_with_two_worker_processes(live_server, start_live_server):
    # A second server, two processes, on the same database; other recommendations.
    server = start_live_server(workers=2, share=live_server)
    workers = _worker_processes(server.process.pid)
    if workers is None:  # pragma: no cover - not Linux
        pytest.skip("cannot count worker processes without /proc")
    assert workers == 2, f"expected 2 uvicorn worker processes, found {workers}"
    _check_concurrent_writes(server, "4.1", ("NKCCG", "GHCCG"))
    _check_concurrent_status_changes(server, "7.2", ("NKCCG", "GHCCG", "Locala"))
