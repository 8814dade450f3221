"""Parts of the portfolio summary as of today or later, kept per process and brought up to date
by reading again only the parts whose current figures writes touched since.

A part is what one report or one organisation adds to the summary. Every write that changes a
count it counts touches its current figures (``scopes.report_figures``,
``scopes.organisation_figures``) in the write's own transaction, moving that scope on to the
write's audit event id; audit ids grow in commit order. So the parts that writes changed since
the parts were kept are those whose figures moved past the newest audit id read with them:
one statement on the scope versions' index names them, however many parts there are. A write
this module cannot place moves ``EVERYTHING``, and a part may embed what moves another scope
(an organisation's line its code and name, ``ORGANISATIONS``): then every part is read again.

The newest audit id is read before the parts, so a write committed in between can only make a
part newer than the id it is kept with, and that part is read again next time. After a write
on one recommendation the portfolio summary reads its report's and its owners' parts again,
not the 2,000 reports and 400 organisations of a large portfolio.
"""

from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, text

from app.domain import scopes

Part = TypeVar("Part")
# (connection, when, ids or None for all) -> each part named that exists, by id
ReadParts = Callable[[Connection, Hashable, Collection[int] | None], dict[int, Part]]

# Days kept at once: today's, and a few others a dashboard may ask about (the end of a quarter).
KEPT_WHENS = 4
_MOVED_SINCE = text(
    f"SELECT '{scopes.PORTFOLIO}', max(id) FROM audit_event "
    "UNION ALL SELECT scope, version FROM scope_version WHERE version > :since"
)


@dataclass(frozen=True)
class _Kept(Generic[Part]):
    when: Hashable  # what the parts were read for (the day asked about, and any setting they use)
    counter: int  # the newest audit id, read before the parts
    parts: dict[int, Part]
    total: Counter  # the sum of every part's ``tally``


class KeptParts(Generic[Part]):
    """The parts of one kind (``"report"`` or ``"organisation"``, as ``scopes.figures_of``
    names them) of one database, kept between portfolio summaries, with the sum of their
    ``tally`` kept as they change. ``also_moved_by``: the scopes whose move makes every part
    be read again. Safe to share between threads: each call works on the kept state it
    started from and replaces it whole (one assignment)."""

    def __init__(
        self,
        kind: str,
        read: ReadParts,
        *,
        tally: Callable[[Part], Counter] | None = None,
        also_moved_by: Iterable[str] = (),
    ) -> None:
        self._kind = kind
        self._read = read
        self._tally = tally
        self._everything = frozenset({scopes.EVERYTHING, *also_moved_by})
        self._kept: dict[Hashable, _Kept] = {}  # by when, the most recently asked for last

    def current(self, connection: Connection, when: Hashable) -> tuple[dict[int, Part], Counter]:
        """Every part as of ``when``, by id, and the sum of their tallies (empty without one)."""
        held = self._kept.get(when)
        kept = (
            self._read_all(connection, when) if held is None else self._brought_up_to_date(connection, held)
        )
        others = [(w, k) for w, k in self._kept.items() if w != when][-(KEPT_WHENS - 1) :]
        self._kept = dict([*others, (when, kept)])
        return kept.parts, kept.total

    def _read_all(self, connection: Connection, when: Hashable) -> _Kept:
        counter, _ = _moved_since(connection, None)
        parts = self._read(connection, when, None)
        total: Counter = Counter()
        if self._tally is not None:
            for part in parts.values():
                total.update(self._tally(part))
        return _Kept(when, counter, parts, total)

    def _brought_up_to_date(self, connection: Connection, kept: _Kept) -> _Kept:
        counter, moved_scopes = _moved_since(connection, kept.counter)
        if counter < kept.counter or self._everything.intersection(moved_scopes):
            return self._read_all(connection, kept.when)  # another database, or everything moved
        named = (scopes.figures_of(scope) for scope in moved_scopes)
        moved = sorted({found[1] for found in named if found is not None and found[0] == self._kind})
        if not moved:
            return kept if counter == kept.counter else _Kept(kept.when, counter, kept.parts, kept.total)
        fresh = self._read(connection, kept.when, moved)
        parts, total = dict(kept.parts), Counter(kept.total)
        for i in moved:
            if self._tally is not None:
                if i in parts:
                    total.subtract(self._tally(parts[i]))
                if i in fresh:
                    total.update(self._tally(fresh[i]))
            if i in fresh:
                parts[i] = fresh[i]
            else:
                parts.pop(i, None)  # gone, or (an organisation) owning nothing now
        return _Kept(kept.when, counter, parts, +total)


def _moved_since(connection: Connection, since: int | None) -> tuple[int, list[str]]:
    """The newest audit id, and the scopes moved past ``since`` (none when None)."""
    rows = connection.execute(_MOVED_SINCE, {"since": since}).all()
    counter = next(version for scope, version in rows if scope == scopes.PORTFOLIO)
    return counter or 0, [scope for scope, _ in rows if scope != scopes.PORTFOLIO]
