"""What one read of the scope versions costs the API's CPU on the event loop, by driver.

    scripts/with-postgres .venv/bin/python -m bench.driver_reads [--reads 3000] [--turns 3]

Against a throwaway PostgreSQL (``RECTRACK_DATABASE_URL``): migrates it, adds 5,000 scope
rows, then reads the change counter's statement, with 23 names, ``--reads`` times in a row
through each of the application's two kinds of connection on the loop, in turn, ``--turns``
times: psycopg's asynchronous connections (``PostgresLoopPool``) and an asyncpg connection
(``PostgresLoopConnection``). Prints the process's CPU time and the wall time per read.
"""

import argparse
import os
import time
from collections.abc import Awaitable, Callable

import uvloop
from sqlalchemy.engine import make_url

from app.db.loop_connections import PostgresLoopConnection, PostgresLoopPool
from app.db.migrations import upgrade
from app.domain import scopes
from app.services import change_scopes

NAMES = [
    scopes.EVERYTHING,
    scopes.FIGURES,
    scopes.ORGANISATIONS,
    *(scopes.recommendation(n) for n in range(1, 21)),
]
ROWS = 5_000


async def _measure(label: str, read: Callable[[], Awaitable[object]], reads: int) -> None:
    for _ in range(200):  # connected, prepared and planned
        await read()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reads):
        await read()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{label:<34} {1000 * cpu / reads:6.3f} ms CPU a read, {1000 * wall / reads:6.3f} ms wall")


async def _run(url: str, reads: int, turns: int) -> None:
    psycopg_sql = change_scopes.versions_sql(0, dialect="postgresql")
    asyncpg_sql = change_scopes.versions_sql(0, dialect="postgresql", array_parameter="$1")
    # Both planned at each read, as the change counter's connection is: the same work for the server.
    planned = make_url(url).update_query_dict({"options": "-cplan_cache_mode=force_custom_plan"})
    planned_url = planned.render_as_string(hide_password=False)
    pool = PostgresLoopPool(planned_url, size=4, timeout=5.0, name="bench")
    connection = PostgresLoopConnection(planned_url, timeout=5.0)
    await connection.fetch(
        "INSERT INTO scope_version (scope, version) SELECT 'recommendation:' || n, n "
        f"FROM generate_series(1, {ROWS}) AS n ON CONFLICT (scope) DO NOTHING"
    )

    async def through_psycopg() -> object:
        async with pool.connection() as pooled:
            cursor = await pooled.execute(psycopg_sql, (NAMES,))
            return await cursor.fetchall()

    async def through_asyncpg() -> object:
        return await connection.fetch(asyncpg_sql, NAMES)

    try:
        for _ in range(turns):
            await _measure("psycopg, PostgresLoopPool", through_psycopg, reads)
            await _measure("asyncpg, PostgresLoopConnection", through_asyncpg, reads)
    finally:
        await pool.close()
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3_000)
    parser.add_argument("--turns", type=int, default=3)
    arguments = parser.parse_args()
    url = os.environ["RECTRACK_DATABASE_URL"]
    if not url.startswith("postgresql"):
        raise SystemExit(
            "RECTRACK_DATABASE_URL must name a throwaway PostgreSQL database (scripts/with-postgres)"
        )
    upgrade(url)
    uvloop.run(_run(url, arguments.reads, arguments.turns))


if __name__ == "__main__":
    main()
