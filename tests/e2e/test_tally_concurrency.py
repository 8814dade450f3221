"""Concurrent writers on different recommendations lose no count of the tallies.

Writers on one recommendation take turns (its row lock); writers on different ones do not,
yet the Kirklees recommendations without a target date share their calendar and due date, and
many share owners, so concurrent progress updates move the same tally rows at once. Two
worker processes take eight clients flipping owners between "not_started" and "in_progress"
across every recommendation; afterwards the tallies must equal a count from scratch.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.db.engine import normalise_database_url
from app.services import tallies

THREADS = 8
REQUESTS_PER_THREAD = 12


def test_concurrent_progress_on_many_recommendations_keeps_the_tallies(live_server, start_live_server):
    server = start_live_server(workers=2, share=live_server)
    response = httpx.get(
        server.url("/api/v1/recommendations"), params={"limit": 100}, headers=server.headers, timeout=10
    )
    assert response.status_code == 200, response.text
    pairs = [(r["id"], o["code"]) for r in response.json()["items"] for o in r["owners"]]
    start = threading.Barrier(THREADS)

    def writer(thread: int) -> list[int]:
        codes = []
        with httpx.Client(timeout=30) as client:
            start.wait(timeout=10)
            for n in range(REQUESTS_PER_THREAD):
                recommendation_id, owner = pairs[(thread * REQUESTS_PER_THREAD + n) % len(pairs)]
                response = client.post(
                    server.url(f"/api/v1/recommendations/{recommendation_id}/progress-updates"),
                    headers=server.headers,
                    json={
                        "organisation_code": owner,
                        "author": f"writer {thread}",
                        "narrative": "Concurrent update.",
                        "status": ("in_progress", "not_started")[(thread + n) % 2],
                    },
                )
                codes.append(response.status_code)
        return codes

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        codes = [code for batch in pool.map(writer, range(THREADS)) for code in batch]
    assert codes == [201] * THREADS * REQUESTS_PER_THREAD, codes

    engine = create_engine(normalise_database_url(server.database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert tallies.stored(connection) == tallies.recount(connection)
    finally:
        engine.dispose()
