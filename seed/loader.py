"""Load a structured report (organisations, report, recommendations) idempotently.

Everything goes through the same services and request schemas as the API,
so the seed obeys the same rules as a person typing it in.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from app.domain.access import SYSTEM, Actor
from app.schemas.organisations import OrganisationCreate
from app.schemas.recommendations import RecommendationCreate
from app.schemas.reports import ReportCreate
from app.services import organisations, recommendations, reports
from seed import KIRKLEES_SEED


@dataclass
class SeedResult:
    organisations_created: list[str] = field(default_factory=list)
    report_created: bool = False
    recommendations_created: int = 0

    def describe(self, slug: str) -> str:
        if not (self.organisations_created or self.report_created):
            return f"{slug}: already loaded, nothing changed"
        return (
            f"{slug}: created {len(self.organisations_created)} organisation(s), "
            f"{'the report and ' if self.report_created else ''}"
            f"{self.recommendations_created} recommendation(s)"
        )


def read_seed(path: Path = KIRKLEES_SEED) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_seed(
    session: Session, *, now: datetime, actor: Actor = SYSTEM, data: dict | None = None
) -> SeedResult:
    """Create what is missing in one transaction; existing rows are left as they are."""
    data = data or read_seed()
    result = SeedResult()
    listed = [OrganisationCreate.model_validate(raw) for raw in data["organisations"]]
    present = organisations.find_by_codes(session, [o.code for o in listed])
    missing = [o for o in listed if o.code.lower() not in present]
    created = organisations.add_organisations(session, actor=actor, items=missing, now=now)
    result.organisations_created = [organisation.code for organisation in created]
    report_data = ReportCreate.model_validate(data["report"])
    if reports.find_by_slug(session, report_data.slug) is None:
        report = reports.add_report(session, actor=actor, data=report_data, now=now)
        items = [RecommendationCreate.model_validate(raw) for raw in data["recommendations"]]
        recommendations.add_recommendations(session, actor=actor, report=report, items=items, now=now)
        result.recommendations_created = len(items)
        result.report_created = True
    session.commit()
    return result
