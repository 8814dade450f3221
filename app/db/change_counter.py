"""The change counter and the scope versions, read without leaving the event loop.

Every write makes an audit event, so the newest event's id says whether anything
changed; each write also moves the scopes it touches on to its event's id
(``app.domain.scopes``). Lists and summaries are tagged and cached by the largest
version among the scopes they read, and every poll reads it.
Handing a read to a worker thread and back costs more than the read itself (a
millisecond on a small virtual machine, against tens of microseconds for the
query), so the counter is read on the loop: on SQLite as one indexed statement
straight through the driver, on PostgreSQL through an asyncpg connection of its own.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from typing import Protocol

from sqlalchemy import Engine

from app.db.loop_connections import PostgresLoopConnection, SQLiteLoopConnection
from app.domain.scopes import PORTFOLIO, answer_version
from app.services import change_scopes

Versions = dict[str, int]
EVERY_WRITE = (PORTFOLIO,)


class ChangeCounter(Protocol):
    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        """The tag of an answer reading ``scopes``: it moves whenever a write touching any of
        them commits. Left out: the change counter (the newest audit event id)."""
        ...

    async def close(self) -> None: ...


_DATA_VERSION = "PRAGMA data_version"
MAX_KEPT_SCOPES = 10_000  # names kept at most: a few hundred kilobytes


class SQLiteChangeCounter:
    """One statement on a connection of its own (``SQLiteLoopConnection``): a few tens of
    microseconds, in WAL mode never waiting for a writer.

    Between polls mostly nothing is written, so the versions read are kept with the
    connection's ``PRAGMA data_version`` read in the same statement (so of the same state of
    the database). It moves whenever another connection, of any process, commits, and never
    for this one's own commits (it makes none). While it stands, the versions kept are the
    database's: a poll of scopes read before costs that one pragma.

    When it moves, the kept versions are brought up to date, not thrown away: a write moves
    the scopes it touches on to its audit event's id, and audit ids grow in commit order, so
    the scopes moved since the versions were kept are those whose version is above the newest
    audit id read with them. One statement reads those and the names not kept yet. Thrown
    away, every reader after each write read all its scopes again: in the read/write mix, most
    of what reading the versions cost (docs/benchmarks.md, fourteenth round)."""

    def __init__(self, url: str, *, timeout: float, max_kept: int = MAX_KEPT_SCOPES) -> None:
        self._connection = SQLiteLoopConnection(url, timeout=timeout)
        self._max_kept = max_kept
        self._data_version: int | None = None
        self._kept: Versions = {}  # the versions of the scopes in _known, as of _data_version
        self._known: set[str] = set()  # the scope names read (a name with no row was never touched)

    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        scopes = frozenset(scopes)
        unknown = [name for name in change_scopes.asked(scopes) if name not in self._known]
        if not unknown and self._data_version_now() == self._data_version:
            return answer_version(scopes, self._kept, self._kept.get(PORTFOLIO, 0))
        if len(self._known) + len(unknown) > self._max_kept:
            self._forget()
            unknown = list(change_scopes.asked(scopes))
        since = self._kept.get(PORTFOLIO) if self._known else None  # None: nothing kept to update
        parameters = unknown if since is None else [*unknown, since]
        rows = self._connection.fetch(_sqlite_versions(len(unknown), moved=since is not None), parameters)
        self._data_version = next(version for scope, version in rows if scope is None)
        moved = {scope: version or 0 for scope, version in rows if scope is not None}
        self._kept.update(moved)
        self._known.update(unknown, moved)
        return answer_version(scopes, self._kept, self._kept.get(PORTFOLIO, 0))

    def _data_version_now(self) -> int:
        return self._connection.fetch(_DATA_VERSION, ())[0][0]

    def _forget(self) -> None:
        self._data_version, self._kept, self._known = None, {}, set()

    async def close(self) -> None:
        self._forget()
        self._connection.close()


@lru_cache(maxsize=32)
def _sqlite_versions(count: int, *, moved: bool) -> str:
    """The versions of ``count`` names, with (``moved``) those of the scopes moved since an
    audit id (the last parameter), and the connection's data_version (the row without a scope)."""
    versions = change_scopes.versions_sql(count, dialect="sqlite")
    since = " UNION ALL SELECT scope, version FROM scope_version WHERE version > ?" if moved else ""
    return f"{versions}{since} UNION ALL SELECT NULL, data_version FROM pragma_data_version"


class CoalescedReads:
    """Reads asked for together share one query.

    A read waits for the first query that starts after it was asked for, never for one
    already under way (which may have missed a write committed just before): the reads asked
    for while a query runs gather, and one query starts for them all when it ends, for all the
    scopes they asked about. Under a dashboard's concurrent polls one round trip answers many,
    and each still sees every write committed before it asked.
    """

    def __init__(self, query: Callable[[tuple[str, ...]], Awaitable[Versions]]) -> None:
        self._query = query
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gathering: asyncio.Future[Versions] | None = None  # the next query's answer
        self._wanted: set[str] = set()  # the scopes the next query reads
        self._running: asyncio.Task | None = None

    async def read(self, names: Iterable[str]) -> Versions:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests make several): start afresh
            self._loop, self._gathering, self._running = loop, None, None
        answer = self._gathering
        if answer is None:
            answer = self._gathering = loop.create_future()
            self._wanted = set()
            # Failures reach every reader still waiting; none is left unread if all went away.
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._wanted.update(names)
        if self._running is None:
            self._start()
        return await asyncio.shield(answer)

    def _start(self) -> None:
        answer, self._gathering = self._gathering, None
        self._running = asyncio.get_running_loop().create_task(self._run(answer, tuple(sorted(self._wanted))))

    async def _run(self, answer: asyncio.Future[Versions], names: tuple[str, ...]) -> None:
        try:
            answer.set_result(await self._query(names))
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as exc:
            answer.set_exception(exc)
        finally:
            self._running = None
            if self._gathering is not None:
                self._start()


# The counter's connection runs one statement, the versions, and plans it for the table as it
# is at each read, looking names up by primary key, never scanning the table:
# - Planned at each read: asyncpg prepares every statement it runs, and PostgreSQL may then keep
#   one plan for it. ``scope_version`` grows from nothing with the writes themselves: the plan
#   kept while the table was nearly empty, a sequential scan, stayed on each connection until
#   autovacuum analysed the table, a minute or more of writes later, and by then read thousands
#   of rows on every poll (7 to 12 ms a read in the first round of the read/write mix at scale
#   L, docs/benchmarks.md, eighteenth round). The statement is small, and its planning costs
#   little beside the round trip.
# - Never scanned: the names asked for together (a list's dozens of recommendations among them)
#   come to fifty or more, and for such a list the planner prefers a sequential scan once the
#   table holds some thousands of rows, matching every row against every name: 0.8 ms a read
#   where looking each name up costs 0.13 (twenty-second round).
VERSIONS_READ_SETTINGS = {"plan_cache_mode": "force_custom_plan", "enable_seqscan": "off"}


class PostgresChangeCounter:
    """A connection of its own in autocommit (``PostgresLoopConnection``), so the read is one
    round trip, shared by the reads asked for together (``CoalescedReads``)."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._connection = PostgresLoopConnection(url, timeout=timeout, settings=VERSIONS_READ_SETTINGS)
        self._reads = CoalescedReads(self._query)

    async def read(self, scopes: Iterable[str] = EVERY_WRITE) -> int:
        scopes = frozenset(scopes)
        versions = await self._reads.read(change_scopes.asked(scopes))
        return change_scopes.tag(scopes, versions.items())

    async def _query(self, names: tuple[str, ...]) -> Versions:
        rows = await self._connection.fetch(_POSTGRES_VERSIONS, list(names))
        return {scope: version or 0 for scope, version in rows}

    async def close(self) -> None:
        await self._connection.close()


_POSTGRES_VERSIONS = change_scopes.versions_sql(0, dialect="postgresql", array_parameter="$1")


def create_change_counter(engine: Engine, *, timeout: float = 5.0) -> ChangeCounter:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        return PostgresChangeCounter(url, timeout=timeout)
    # A WAL reader does not wait for writers; past a second something is wrong, and the loop waits.
    return SQLiteChangeCounter(url, timeout=min(timeout, 1.0))
