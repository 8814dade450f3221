"""The tallies (``app.domain.tallies``) kept in step inside each write's own transaction.

A writer either knows the recommendation's state before and after (the progress update, the
hot path, passes both to ``apply``), or wraps its change in ``kept``, which reads the rows it
touches before and after. Counts move by atomic ``n = n + delta`` upserts, never by a value
read back into Python, so concurrent writers on PostgreSQL lose nothing; the rows a writer
reads are locked first (``FOR UPDATE`` on the recommendations), so no other writer changes them
between its two readings.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    not_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from app.domain.status import TERMINAL_STATUSES, OwnerStatus
from app.domain.tallies import Counts, RecommendationState, Tally, change
from app.models import (
    OwnerDueTally,
    OwnerStatusTally,
    Recommendation,
    RecommendationOwner,
    RecommendationTally,
    Report,
)

_RECOMMENDATION = Recommendation.__table__
_OWNER = RecommendationOwner.__table__
_REPORT = Report.__table__
_TABLES = {
    Tally.RECOMMENDATION: RecommendationTally.__table__,
    Tally.OWNER_STATUS: OwnerStatusTally.__table__,
    Tally.OWNER_DUE: OwnerDueTally.__table__,
}
_KEYS = {
    Tally.RECOMMENDATION: ("calendar", "status", "due_date"),
    Tally.OWNER_STATUS: ("organisation_id", "owner_status"),
    Tally.OWNER_DUE: ("organisation_id", "due_date"),
}

_STATES = (
    select(
        _RECOMMENDATION.c.id,
        _REPORT.c.calendar,
        _RECOMMENDATION.c.status,
        _RECOMMENDATION.c.due_date,
        _OWNER.c.organisation_id,
        _OWNER.c.status.label("owner_status"),
    )
    .select_from(
        _RECOMMENDATION.join(_REPORT, _REPORT.c.id == _RECOMMENDATION.c.report_id).outerjoin(
            _OWNER, _OWNER.c.recommendation_id == _RECOMMENDATION.c.id
        )
    )
    .order_by(_RECOMMENDATION.c.id, _OWNER.c.position)
    .with_for_update(of=_RECOMMENDATION)
)


def states(
    connection: Connection, *, recommendation_ids: Iterable[int] = (), report_id: int | None = None
) -> list[RecommendationState]:
    """The recommendations named (and those of ``report_id``) as the tallies see them, locked."""
    ids = list(recommendation_ids)
    found: dict[int, list] = {}
    owners: dict[int, list] = defaultdict(list)
    queries: list[Select] = []
    if ids:
        queries.append(_STATES.where(_RECOMMENDATION.c.id.in_(ids)))
    if report_id is not None:
        queries.append(_STATES.where(_RECOMMENDATION.c.report_id == report_id))
    for query in queries:
        for row in connection.execute(query):
            found.setdefault(row.id, [row.calendar, row.status, row.due_date])
            owner = (row.organisation_id, row.owner_status)
            if row.organisation_id is not None and owner not in owners[row.id]:
                owners[row.id].append(owner)
    return [
        RecommendationState(calendar=calendar, status=status, due_date=due, owners=tuple(owners[rid]))
        for rid, (calendar, status, due) in found.items()
    ]


@cache
def _upsert(tally: Tally):
    """SQLite: the tally's rows added one by one (``executemany``)."""
    table = _TABLES[tally]
    statement = sqlite.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(_KEYS[tally]), set_={"n": table.c.n + statement.excluded.n}
    )


def _rows_upsert(tally: Tally) -> Insert:
    """PostgreSQL: the tally's moved rows added in one statement, in the order given, each
    column one array parameter (``columns``)."""
    table = _TABLES[tally]
    names = (*_KEYS[tally], "n")
    arrays = (bindparam(f"{tally.value}_{name}", type_=ARRAY(table.c[name].type)) for name in names)
    rows = func.unnest(*arrays).table_valued(*names).render_derived(name="moved")
    statement = postgresql.insert(table).from_select(list(names), select(*(rows.c[name] for name in names)))
    return statement.on_conflict_do_update(
        index_elements=list(_KEYS[tally]), set_={"n": table.c.n + statement.excluded.n}
    )


# PostgreSQL: every tally's upsert, for one statement that moves them all (``apply``, or a write
# that embeds them in a statement of its own). Every statement that moves tallies holds these
# same CTEs in this order, each with its rows in key order, so that concurrent writers take the
# rows they share in one order.
MOVES = tuple(_rows_upsert(tally).cte(f"{tally.value}_moved") for tally in Tally)
_APPLY = select(literal_column("1")).add_cte(*MOVES)


def _moved(delta: Counts) -> Iterator[tuple[Tally, dict]]:
    """The tally rows that move, in key order: concurrent writers lock the rows they share in
    the same order."""
    for (tally, key), n in sorted(delta.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        if n:
            yield tally, {**dict(zip(_KEYS[tally], key, strict=True)), "n": n}


def columns(delta: Counts) -> dict[str, list]:
    """``MOVES``'s parameters for ``delta``: each tally's moved rows, one array a column
    (empty for a tally that stays)."""
    parameters: dict[str, list] = {f"{t.value}_{name}": [] for t in Tally for name in (*_KEYS[t], "n")}
    for tally, row in _moved(delta):
        for name, value in row.items():
            parameters[f"{tally.value}_{name}"].append(value)
    return parameters


def apply(connection: Connection, delta: Counts) -> None:
    """Add ``delta`` to the tallies: on PostgreSQL in one statement, on SQLite one a tally that
    moves."""
    if connection.dialect.name == "postgresql":
        connection.execute(_APPLY, columns(delta))
        return
    rows: dict[Tally, list[dict]] = defaultdict(list)
    for tally, row in _moved(delta):
        rows[tally].append(row)
    for tally, values in rows.items():
        connection.execute(_upsert(tally), values)


@contextmanager
def kept(
    session: Session, *, recommendation_ids: Iterable[int] = (), report_id: int | None = None
) -> Iterator[None]:
    """Keep the tallies in step with whatever the block changes of the recommendations named
    (or of a report's): a created one is counted when named here after it is flushed, a
    deleted one is uncounted by naming it before it goes (``added``, ``removing``)."""
    ids = list(recommendation_ids)
    connection = session.connection()
    session.flush()
    before = states(connection, recommendation_ids=ids, report_id=report_id)
    yield
    session.flush()
    after = states(connection, recommendation_ids=ids, report_id=report_id)
    apply(connection, change(before, after))


def added(session: Session, recommendation_ids: Iterable[int]) -> None:
    """Count recommendations just created (and flushed, with their owners)."""
    session.flush()
    connection = session.connection()
    apply(connection, change([], states(connection, recommendation_ids=recommendation_ids)))


def removing(session: Session, recommendation_ids: Iterable[int]) -> None:
    """Uncount recommendations about to be deleted."""
    session.flush()
    connection = session.connection()
    apply(connection, change(states(connection, recommendation_ids=recommendation_ids), []))


# -- from scratch -------------------------------------------------------------------------------


def _recount_queries() -> dict[Tally, Select]:
    by_report = _RECOMMENDATION.join(_REPORT, _REPORT.c.id == _RECOMMENDATION.c.report_id)
    owned = _OWNER.join(_RECOMMENDATION, _RECOMMENDATION.c.id == _OWNER.c.recommendation_id)
    keys = (_REPORT.c.calendar, _RECOMMENDATION.c.status, _RECOMMENDATION.c.due_date)
    terminal = [s.value for s in TERMINAL_STATUSES]
    return {
        Tally.RECOMMENDATION: select(*keys, func.count()).select_from(by_report).group_by(*keys),
        Tally.OWNER_STATUS: select(_OWNER.c.organisation_id, _OWNER.c.status, func.count()).group_by(
            _OWNER.c.organisation_id, _OWNER.c.status
        ),
        Tally.OWNER_DUE: select(_OWNER.c.organisation_id, _RECOMMENDATION.c.due_date, func.count())
        .select_from(owned)
        .where(_OWNER.c.status != OwnerStatus.IMPLEMENTED.value, not_(_RECOMMENDATION.c.status.in_(terminal)))
        .group_by(_OWNER.c.organisation_id, _RECOMMENDATION.c.due_date),
    }


def _plain(value):
    return value.value if hasattr(value, "value") else value


def recount(connection: Connection) -> Counts:
    """The tallies computed from scratch from the recommendations and owners."""
    counts: Counts = Counter()
    for tally, query in _recount_queries().items():
        for *key, n in connection.execute(query):
            counts[tally, tuple(_plain(k) for k in key)] = n
    return counts


def stored(connection: Connection) -> Counts:
    """The tallies as kept, without the zeros."""
    counts: Counts = Counter()
    for tally, table in _TABLES.items():
        columns = [table.c[name] for name in _KEYS[tally]]
        for *key, n in connection.execute(select(*columns, table.c.n).where(table.c.n != 0)):
            counts[tally, tuple(key)] = n
    return counts


def rebuild(connection: Connection) -> None:
    """Fill the tallies from scratch (for rows written around the services, as the benchmark's
    generator does)."""
    for tally, query in _recount_queries().items():
        table = _TABLES[tally]
        connection.execute(delete(table))
        connection.execute(insert(table).from_select([*_KEYS[tally], "n"], query))
