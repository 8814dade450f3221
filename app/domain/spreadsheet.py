"""Action-plan spreadsheets: the columns, the rows, and text cells safe to open.

Pure: no database and no file format. The exporters in
``app.services.exports`` turn these typed cells into CSV or XLSX.

One row per recommendation *and* owner, in the order given: a recommendation
owned jointly by three organisations gives three rows, each with that owner's
own status, latest progress date and evidence count beside the recommendation's
shared figures. A recommendation without owners still gets one row, with the
owner cells blank, so that nothing drops out of the plan.

Text cells are neutralised against formula injection (CSV/DDE injection, as
OWASP calls it): text that a spreadsheet would read as a formula, because it
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or the
full-width ``＝ ＋ － ＠`` that some locales also accept), gets a leading single
quote. Only text is touched: dates and numbers are typed cells, built by us,
and a date or number column refuses anything else.
"""

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NEUTRALISER = "'"
# Control characters XML 1.0 (and so XLSX) cannot hold; they carry nothing a reader needs.
_UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def safe_text(value: object) -> str:
    """``value`` as spreadsheet text that cannot run as a formula; ``None`` is blank.

    Unrepresentable control characters go first, so that what remains is what
    gets checked: ``"\\x01=1+1"`` must not become a bare ``"=1+1"``.
    """
    if value is None:
        return ""
    text = _UNREPRESENTABLE.sub("", str(value))
    if text.startswith(FORMULA_PREFIXES):
        return NEUTRALISER + text
    return text


class CellKind(StrEnum):
    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"


Cell = str | date | int | None


def typed_cell(kind: CellKind, value: object) -> Cell:
    """A cell of ``kind``: text is neutralised; a date or an integer must be one (or blank)."""
    if kind is CellKind.TEXT:
        return safe_text(value)
    if value is None:
        return None
    if kind is CellKind.DATE:
        if isinstance(value, date):  # a datetime is a date too; spreadsheets keep the day
            return value
        raise TypeError(f"a date cell needs a date, not {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"an integer cell needs an int, not {value!r}")


@dataclass(frozen=True)
class Column:
    header: str
    kind: CellKind
    width: int  # in characters, for formats that keep column widths
    wrap: bool = False


ACTION_PLAN_COLUMNS: tuple[Column, ...] = (
    Column("Reference", CellKind.TEXT, 11),
    Column("Recommendation", CellKind.TEXT, 80, wrap=True),
    Column("Owner", CellKind.TEXT, 10),
    Column("Owner name", CellKind.TEXT, 40, wrap=True),
    Column("Owner status", CellKind.TEXT, 14),
    Column("Recommendation status", CellKind.TEXT, 22),
    Column("Target date", CellKind.DATE, 12),
    Column("Effective due date", CellKind.DATE, 12),
    Column("Days overdue", CellKind.INTEGER, 9),
    Column("Working days overdue", CellKind.INTEGER, 9),
    Column("RAG", CellKind.TEXT, 7),
    Column("Last update", CellKind.DATE, 12),
    Column("Evidence links", CellKind.INTEGER, 9),
)
HEADERS: tuple[str, ...] = tuple(c.header for c in ACTION_PLAN_COLUMNS)


class OwnerView(Protocol):
    organisation_id: int
    code: str
    name: str
    status: str


class RecommendationView(Protocol):
    """What a row needs of a recommendation as of a date (``RecommendationPublic`` has it)."""

    id: int
    ref: str
    text: str
    status: str
    owners: Sequence[OwnerView]
    target_date: date | None
    effective_due_date: date
    days_overdue: int
    working_days_overdue: int
    rag: str


@dataclass(frozen=True)
class OwnerActivity:
    """One owner's record on one recommendation as of the date."""

    last_update: date | None = None
    evidence_links: int = 0


NO_ACTIVITY = OwnerActivity()


def _text(value: object) -> str | None:
    # StrEnum members print as their value; None stays blank.
    return None if value is None else str(value)


def row(view: RecommendationView, owner: OwnerView | None, activity: OwnerActivity) -> tuple[Cell, ...]:
    """One typed, neutralised row in ``ACTION_PLAN_COLUMNS`` order."""
    values = (
        view.ref,
        view.text,
        owner.code if owner else None,
        owner.name if owner else None,
        _text(owner.status) if owner else None,
        _text(view.status),
        view.target_date,
        view.effective_due_date,
        view.days_overdue,
        view.working_days_overdue,
        _text(view.rag),
        activity.last_update if owner else None,
        activity.evidence_links if owner else None,
    )
    return tuple(typed_cell(c.kind, v) for c, v in zip(ACTION_PLAN_COLUMNS, values, strict=True))


def action_plan_rows(
    views: Iterable[RecommendationView], activity: Mapping[tuple[int, int], OwnerActivity]
) -> Iterator[tuple[Cell, ...]]:
    """Rows for ``views``, one per owner; ``activity`` is keyed by (recommendation id, organisation id)."""
    for view in views:
        if not view.owners:
            yield row(view, None, NO_ACTIVITY)
        for owner in view.owners:
            yield row(view, owner, activity.get((view.id, owner.organisation_id), NO_ACTIVITY))


def report_details(
    *, title: str, slug: str, regulator: str, as_of: date, action_plan_due_date: date, rows: int
) -> tuple[tuple[str, Cell], ...]:
    """The label/value pairs that say what a spreadsheet is of, typed and neutralised."""
    return (
        ("Report", safe_text(title)),
        ("Slug", safe_text(slug)),
        ("Regulator", safe_text(regulator)),
        ("As of", typed_cell(CellKind.DATE, as_of)),
        ("Action-plan due date", typed_cell(CellKind.DATE, action_plan_due_date)),
        ("Rows", typed_cell(CellKind.INTEGER, rows)),
    )
