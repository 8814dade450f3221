"""Plain-text, CSV and JSON renderings of the overdue list, for the command line."""

import csv
import io
import json
from collections.abc import Iterator

from sqlmodel import Session

from app.errors import NotFound
from app.schemas.recommendations import RecommendationPublic
from app.services import recommendations, reports
from app.services.as_of import AsOf
from app.services.recommendations import RecommendationFilters, SortOrder

BATCH = 200
COLUMNS = ("report", "ref", "owners", "due_date", "days_overdue", "working_days_overdue", "status")


def overdue_recommendations(
    session: Session, *, as_of: AsOf, report_slug: str | None, organisation: str | None
) -> Iterator[tuple[str, RecommendationPublic]]:
    """Every recommendation overdue as of the date, most overdue first, with its report's slug."""
    report_id = None
    if report_slug:
        report = reports.find_by_slug(session, report_slug)
        if report is None:
            raise NotFound(f"No report has the slug {report_slug!r}.")
        report_id = report.id
    filters = RecommendationFilters(report_id=report_id, organisation=organisation, overdue=True)
    slugs: dict[int, str] = {}
    offset = 0
    while True:
        page, total = recommendations.list_recommendations(
            session, filters=filters, as_of=as_of, sort=SortOrder.DAYS_OVERDUE, limit=BATCH, offset=offset
        )
        for item in page:
            if item.report_id not in slugs:
                slugs[item.report_id] = reports.get_report(session, item.report_id).slug
            yield slugs[item.report_id], item
        offset += BATCH
        if offset >= total:
            return


def _row(slug: str, item: RecommendationPublic) -> dict:
    return {
        "report": slug,
        "ref": item.ref,
        "owners": ", ".join(o.code for o in item.owners),
        "due_date": item.effective_due_date.isoformat(),
        "days_overdue": item.days_overdue,
        "working_days_overdue": item.working_days_overdue,
        "status": str(item.status),
    }


def render(rows: list[tuple[str, RecommendationPublic]], fmt: str, as_of: AsOf) -> str:
    records = [_row(slug, item) for slug, item in rows]
    if fmt == "json":
        return json.dumps({"as_of": as_of.day.isoformat(), "total": len(records), "items": records}, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().rstrip("\n")
    return _table(records, as_of)


def _table(records: list[dict], as_of: AsOf) -> str:
    headings = {
        "report": "Report",
        "ref": "Ref",
        "owners": "Owners",
        "due_date": "Due",
        "days_overdue": "Days overdue",
        "working_days_overdue": "Working days",
        "status": "Status",
    }
    if not records:
        return f"Nothing is overdue as of {as_of.day.isoformat()}."
    widths = {c: max(len(headings[c]), *(len(str(r[c])) for r in records)) for c in COLUMNS}
    numeric = {"days_overdue", "working_days_overdue"}

    def line(values: dict) -> str:
        cells = [
            str(values[c]).rjust(widths[c]) if c in numeric else str(values[c]).ljust(widths[c])
            for c in COLUMNS
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * widths[c] for c in COLUMNS)
    body = [line(headings), rule, *(line(r) for r in records)]
    body.append(f"{len(records)} overdue as of {as_of.day.isoformat()}.")
    return "\n".join(body)
