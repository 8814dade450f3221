"""kill -9 under concurrent idempotent writes, then a restart: nothing acknowledged is lost, no key
is stranded.

Writers post progress updates, each with an Idempotency-Key of its own, to a real
server until it is killed with SIGKILL in the middle of their requests. A new
server on the same database must then hold every acknowledged write; a retry of
each key whose request was cut off must perform it once or replay it, and a
retry of an acknowledged key must replay the first answer.
"""

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import fresh_live_database, prepare_database, run_live_server

API = "/api/v1"
WRITERS = 6
ACKNOWLEDGED_BEFORE_THE_KILL = 30
TIMEOUT = 30.0


def _target(server) -> tuple[int, str]:
    response = httpx.get(
        server.url(f"{API}/recommendations"),
        params={"organisation_id": "CHFT", "limit": 1},
        headers=server.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"][0]["id"], "CHFT"


def _body(key: str, organisation: str) -> dict:
    return {
        "author": "crash test",
        "narrative": key,
        "status": "in_progress",
        "organisation_code": organisation,
    }


def _narratives(server, recommendation_id: int) -> list[str]:
    found, offset = [], 0
    while True:
        page = httpx.get(
            server.url(f"{API}/recommendations/{recommendation_id}/progress-updates"),
            params={"limit": 200, "offset": offset},
            headers=server.headers,
            timeout=TIMEOUT,
        ).json()
        found += [item["narrative"] for item in page["items"]]
        offset += page["limit"]
        if offset >= page["total"]:
            return found


def test_kill_9_under_idempotent_writes_loses_nothing_and_strands_no_key(tmp_path):
    with fresh_live_database(tmp_path) as url:
        headers = prepare_database(url)
        acknowledged: dict[str, dict] = {}  # key -> the answer
        cut_off: set[str] = set()
        lock = threading.Lock()
        enough = threading.Event()

        with run_live_server(url, tmp_path, headers=headers) as server:
            recommendation_id, organisation = _target(server)
            path = server.url(f"{API}/recommendations/{recommendation_id}/progress-updates")

            def write(writer: int) -> None:
                with httpx.Client(timeout=TIMEOUT) as client:
                    for n in range(10_000):
                        key = f"crash-{writer}-{n}"
                        try:
                            response = client.post(
                                path,
                                json=_body(key, organisation),
                                headers={**headers, "Idempotency-Key": key},
                            )
                        except httpx.TransportError:
                            with lock:
                                cut_off.add(key)
                            return
                        assert response.status_code == 201, response.text
                        with lock:
                            acknowledged[key] = response.json()
                            if len(acknowledged) >= ACKNOWLEDGED_BEFORE_THE_KILL:
                                enough.set()

            with ThreadPoolExecutor(WRITERS) as pool:
                futures = [pool.submit(write, writer) for writer in range(WRITERS)]
                assert enough.wait(timeout=120), server.log()
                os.killpg(server.process.pid, signal.SIGKILL)
                for future in futures:
                    future.result()

        assert cut_off, "the kill should have cut requests off"
        with run_live_server(url, tmp_path, headers=headers) as server:
            path = server.url(f"{API}/recommendations/{recommendation_id}/progress-updates")
            stored = _narratives(server, recommendation_id)
            assert set(acknowledged) <= set(stored), "acknowledged writes were lost"
            with httpx.Client(timeout=TIMEOUT) as client:
                for key in sorted(cut_off | set(acknowledged)):
                    retry = client.post(
                        path, json=_body(key, organisation), headers={**headers, "Idempotency-Key": key}
                    )
                    assert retry.status_code == 201, (key, retry.text)
                    if key in acknowledged:
                        assert retry.headers.get("idempotency-replayed") == "true", key
                        assert retry.json() == acknowledged[key]
            stored = _narratives(server, recommendation_id)
            keys = [narrative for narrative in stored if narrative.startswith("crash-")]
            assert sorted(keys) == sorted(cut_off | set(acknowledged)), "each key written exactly once"
