"""A report's action plan as a spreadsheet: CSV for anything, XLSX for Excel.

The figures are the API's own: recommendations come from
``recommendations.list_recommendations`` (statuses, due dates, overdue and RAG
computed by SQL as of the date), read in report order a batch of
``BATCH_SIZE`` at a time, never the whole table at once. For each batch one
grouped query adds every owner's latest progress date and evidence count.

As of a date D:

- an owner's *last update* is the latest ``reported_on`` of its progress
  updates on or before D (the updates its status as of D comes from);
- its *evidence links* are those created by the end of D, local time (the
  service's timezone). Links carry no other date, so a progress update
  back-dated before its evidence was entered can show an owner implemented as
  of D with no evidence counted yet.

The whole file is built in memory: an action plan runs to hundreds of rows,
not millions, and a complete body lets errors still be problem documents.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, func
from sqlmodel import Session, select

from app.domain.spreadsheet import (
    ACTION_PLAN_COLUMNS,
    HEADERS,
    Cell,
    CellKind,
    OwnerActivity,
    action_plan_rows,
    report_details,
)
from app.models import EvidenceLink, ProgressUpdate, RecommendationOwner, Report
from app.services import recommendations
from app.services.as_of import AsOf
from app.services.recommendations import RecommendationFilters, SortOrder

BATCH_SIZE = 200  # the API's largest page

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Row = tuple[Cell, ...]


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after ``day`` where the service's users are."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(timezone))


def owner_activity(
    session: Session, recommendation_ids: list[int], *, as_of: AsOf, timezone: str
) -> dict[tuple[int, int], OwnerActivity]:
    """Each owner's last update and evidence count on these recommendations: one grouped query."""
    updates = (
        select(
            ProgressUpdate.recommendation_id,
            ProgressUpdate.organisation_id,
            func.max(ProgressUpdate.reported_on).label("last_update"),
        )
        .where(
            ProgressUpdate.recommendation_id.in_(recommendation_ids),
            ProgressUpdate.reported_on <= as_of.day,
        )
        .group_by(ProgressUpdate.recommendation_id, ProgressUpdate.organisation_id)
        .subquery()
    )
    evidence = (
        select(
            EvidenceLink.recommendation_id,
            EvidenceLink.organisation_id,
            func.count(EvidenceLink.id).label("links"),
        )
        .where(
            EvidenceLink.recommendation_id.in_(recommendation_ids),
            EvidenceLink.created_at < end_of_day(as_of.day, timezone),
        )
        .group_by(EvidenceLink.recommendation_id, EvidenceLink.organisation_id)
        .subquery()
    )

    def same_owner(table):
        return and_(
            table.c.recommendation_id == RecommendationOwner.recommendation_id,
            table.c.organisation_id == RecommendationOwner.organisation_id,
        )

    rows = session.exec(
        select(
            RecommendationOwner.recommendation_id,
            RecommendationOwner.organisation_id,
            updates.c.last_update,
            evidence.c.links,
        )
        .outerjoin(updates, same_owner(updates))
        .outerjoin(evidence, same_owner(evidence))
        .where(RecommendationOwner.recommendation_id.in_(recommendation_ids))
    )
    return {
        (recommendation_id, organisation_id): OwnerActivity(last_update=last, evidence_links=links or 0)
        for recommendation_id, organisation_id, last, links in rows
    }


def action_plan(session: Session, *, report: Report, as_of: AsOf, timezone: str) -> Iterator[Row]:
    """The report's rows in report order, one per recommendation and owner, a batch at a time."""
    filters = RecommendationFilters(report_id=report.id)
    offset = 0
    while True:
        views, total = recommendations.list_recommendations(
            session, filters=filters, as_of=as_of, sort=SortOrder.REF, limit=BATCH_SIZE, offset=offset
        )
        if not views:
            return
        activity = owner_activity(session, [v.id for v in views], as_of=as_of, timezone=timezone)
        yield from action_plan_rows(views, activity)
        offset += len(views)
        if offset >= total:
            return


def filename(report: Report, as_of: AsOf, extension: str) -> str:
    # Slugs are [a-z0-9-] only, so the name needs no quoting beyond the plain quotes.
    return f"{report.slug}-action-plan-{as_of.day.isoformat()}.{extension}"


def content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


# -- CSV ---------------------------------------------------------------------------


def _csv_value(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, date):
        return cell.isoformat()  # Excel reads ISO dates as dates
    return str(cell)


def render_csv(rows: Iterable[Row]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line endings, as Excel expects."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_csv_value(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


# -- XLSX --------------------------------------------------------------------------

SHEET_TITLE = "Action plan"
DETAILS_SHEET_TITLE = "About"
DATE_FORMAT = "yyyy-mm-dd"
INTEGER_FORMAT = "0"
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_RAG_FILLS = {
    "red": PatternFill("solid", fgColor="F4CCCC"),
    "amber": PatternFill("solid", fgColor="FCE5CD"),
    "green": PatternFill("solid", fgColor="D9EAD3"),
    "blue": PatternFill("solid", fgColor="CFE2F3"),
    "grey": PatternFill("solid", fgColor="E0E0E0"),
}
_RAG_COLUMN = HEADERS.index("RAG")


def _cell(sheet, value: Cell, kind: CellKind, *, wrap: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if kind is CellKind.TEXT:
        cell.data_type = "s"  # never a formula, whatever the text (it is neutralised already)
    elif kind is CellKind.DATE:
        cell.number_format = DATE_FORMAT
    else:
        cell.number_format = INTEGER_FORMAT
    cell.alignment = _WRAP if wrap else _TOP
    return cell


def _kind(value: Cell) -> CellKind:
    if isinstance(value, date):
        return CellKind.DATE
    if isinstance(value, int):
        return CellKind.INTEGER
    return CellKind.TEXT


def render_xlsx(report: Report, as_of: AsOf, rows: Iterable[Row]) -> bytes:
    """A workbook: the action plan (bold frozen header, filters, widths), then what it is of."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{report.title} – action plan as of {as_of.day.isoformat()}"
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(ACTION_PLAN_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    header = []
    for column in ACTION_PLAN_COLUMNS:
        cell = _cell(sheet, column.header, CellKind.TEXT, wrap=True)
        cell.font = _BOLD
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        cells = [
            _cell(sheet, value, column.kind, wrap=column.wrap)
            for column, value in zip(ACTION_PLAN_COLUMNS, row, strict=True)
        ]
        fill = _RAG_FILLS.get(str(row[_RAG_COLUMN]))
        if fill is not None:
            cells[_RAG_COLUMN].fill = fill
        sheet.append(cells)
        count += 1
    last_column = get_column_letter(len(ACTION_PLAN_COLUMNS))
    sheet.auto_filter.ref = f"A1:{last_column}{count + 1}"

    details = workbook.create_sheet(DETAILS_SHEET_TITLE)
    details.column_dimensions["A"].width = 22
    details.column_dimensions["B"].width = 90
    for label, value in report_details(
        title=report.title,
        slug=report.slug,
        regulator=report.regulator,
        as_of=as_of.day,
        action_plan_due_date=report.action_plan_due_date,
        rows=count,
    ):
        label_cell = _cell(details, label, CellKind.TEXT)
        label_cell.font = _BOLD
        details.append([label_cell, _cell(details, value, _kind(value))])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
