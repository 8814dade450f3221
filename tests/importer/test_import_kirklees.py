"""Importing the real Kirklees text gives the same rows as the structured seed."""


import pytest
from sqlmodel import Session, select

from app.domain.access import SYSTEM
from app.models import (
    Organisation,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
)
from app.services import importer
from seed import KIRKLEES_SOURCE
from seed.loader import load_seed

LOCALA = "Locala Community Partnerships Community Interest Company"
REPORT_FIELDS = (
    "slug", "title", "regulator", "area", "review_start_date", "review_end_date", "published_date",
    "received_date", "working_days_allowed", "calendar", "action_plan_due_date",
    "action_plan_submitted_date", "source_url",
)  # fmt: skip


@pytest.fixture(scope="module")
def text() -> str:
    return KIRKLEES_SOURCE.read_text(encoding="utf-8")


def _import(session: Session, text: str, now):
    return importer.import_text(session, text=text, actor=SYSTEM, options=importer.ImportOptions(), now=now)


def _organisations_in_use(session: Session) -> dict[str, tuple[str, str]]:
    """name -> (code, kind) of every organisation that owns a recommendation or is asked for the plan."""
    used = select(RecommendationOwner.organisation_id).union(
        select(ReportActionPlanOrganisation.organisation_id)
    )
    rows = session.exec(select(Organisation).where(Organisation.id.in_(used)))
    return {o.name: (o.code, o.kind) for o in rows}


def _rows(session: Session) -> dict:
    report = session.exec(select(Report)).one()
    names = {o.id: o.name for o in session.exec(select(Organisation))}
    recommendations = []
    for r in session.exec(select(Recommendation).order_by(Recommendation.position)):
        owners = session.exec(
            select(RecommendationOwner.organisation_id, RecommendationOwner.status)
            .where(RecommendationOwner.recommendation_id == r.id)
            .order_by(RecommendationOwner.position)
        )
        citations = session.exec(
            select(RecommendationCitation.paragraph, RecommendationCitation.section)
            .where(RecommendationCitation.recommendation_id == r.id)
            .order_by(RecommendationCitation.id)
        )
        recommendations.append(
            {
                "ref": r.ref,
                "text": r.text,
                "section": r.section,
                "status": r.status,
                "due_date": r.due_date,
                "target_date": r.target_date,
                "owners": [(names[o], status) for o, status in owners],
                "citations": [tuple(c) for c in citations],
            }
        )
    planned = session.exec(
        select(ReportActionPlanOrganisation.organisation_id).where(
            ReportActionPlanOrganisation.report_id == report.id
        )
    )
    return {
        "report": {name: getattr(report, name) for name in REPORT_FIELDS},
        "action_plan_organisations": sorted(names[o] for o in planned),
        "organisations": _organisations_in_use(session),
        "recommendations": recommendations,
    }


def _rows_after(connection, load) -> dict:
    """The rows ``load`` leaves in an empty database; rolled back afterwards."""
    savepoint = connection.begin_nested()
    try:
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            assert session.exec(select(Report)).first() is None
            load(session)
            return _rows(session)
    finally:
        savepoint.rollback()


def test_importing_the_text_into_an_empty_database_gives_the_seeds_rows(connection, clock, text):
    imported = _rows_after(connection, lambda session: _import(session, text, clock.now()))
    seeded = _rows_after(connection, lambda session: load_seed(session, now=clock.now()))
    assert imported["report"] == seeded["report"]
    assert imported["report"]["slug"] == "kirklees-clas-2018"
    assert imported["action_plan_organisations"] == seeded["action_plan_organisations"]
    assert len(imported["recommendations"]) == 25
    assert imported["recommendations"] == seeded["recommendations"]
    # Same organisations, codes, names and kinds: Locala is known by its trading name on both.
    assert imported["organisations"] == seeded["organisations"]
    assert seeded["organisations"][LOCALA] == ("Locala", "community_interest_company")


def test_importing_the_text_over_the_seed_changes_nothing(session, seeded, clock, text):
    before = _rows(session)
    updated = [r.updated_at for r in session.exec(select(Recommendation).order_by(Recommendation.id))]
    result = _import(session, text, clock.now())
    assert (result.outcome, result.written) == ("unchanged", False)
    assert result.differences == [] and result.report_differences == [] and result.blockers == []
    assert result.organisations_created == [] and result.warnings == []
    assert all(o.resolution == "matched" for o in result.preview.organisations)
    assert {o.code for o in result.preview.organisations} == {
        "MYHT",
        "CHFT",
        "SWYPFT",
        "Locala",
        "NKCCG",
        "GHCCG",
        "NHSE",
    }
    assert _rows(session) == before
    assert [r.updated_at for r in session.exec(select(Recommendation).order_by(Recommendation.id))] == updated
