"""The Kirklees seed: what it loads, and that loading it again changes nothing."""

from sqlalchemy import func
from sqlmodel import select

from app.models import (
    Organisation,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
)
from seed.loader import load_seed, read_seed

TABLES = (
    Organisation,
    Report,
    ReportActionPlanOrganisation,
    Recommendation,
    RecommendationOwner,
    RecommendationCitation,
)


def _counts(session):
    return {t.__tablename__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def _recommendation(session, ref):
    return session.exec(select(Recommendation).where(Recommendation.ref == ref)).one()


def _owner_codes(session, ref):
    recommendation = _recommendation(session, ref)
    rows = session.exec(
        select(Organisation.code)
        .join(RecommendationOwner, RecommendationOwner.organisation_id == Organisation.id)
        .where(RecommendationOwner.recommendation_id == recommendation.id)
        .order_by(RecommendationOwner.position)
    )
    return list(rows)


def test_the_seed_loads_the_whole_report(session, seeded):
    report = session.exec(select(Report)).one()
    assert report.slug == "kirklees-clas-2018"
    assert str(report.published_date) == "2018-05-04"
    assert str(report.received_date) == "2018-05-04"
    assert (str(report.review_start_date), str(report.review_end_date)) == ("2018-01-22", "2018-01-26")
    assert report.working_days_allowed == 20
    counts = _counts(session)
    assert counts["recommendation"] == 25
    assert counts["organisation"] == len(read_seed()["organisations"])
    codes = set(session.exec(select(Organisation.code)))
    assert {"MYHT", "CHFT", "SWYPFT", "Locala", "NKCCG", "GHCCG", "NHSE", "CGL"} <= codes


def test_jointly_owned_recommendations_keep_every_owner_in_order(session, seeded):
    assert _owner_codes(session, "6.1") == ["SWYPFT", "CHFT", "MYHT"]
    assert _owner_codes(session, "7.1") == ["NKCCG", "GHCCG", "Locala"]
    assert _owner_codes(session, "8.1") == ["NHSE", "NKCCG", "GHCCG"]
    assert _owner_codes(session, "9.1") == ["Locala", "CHFT"]
    assert _owner_codes(session, "1.1") == ["MYHT"]


def test_citations_and_sections_come_from_the_citing_paragraphs(session, seeded):
    recommendation = _recommendation(session, "4.8")
    citations = session.exec(
        select(RecommendationCitation.paragraph, RecommendationCitation.section)
        .where(RecommendationCitation.recommendation_id == recommendation.id)
        .order_by(RecommendationCitation.id)
    ).all()
    assert [tuple(c) for c in citations] == [
        ("5.1.19", "Leadership and management"),
        ("5.3.7", "Training and supervision"),
    ]
    assert recommendation.section == "Leadership and management"
    assert _recommendation(session, "8.1").section == "Child in need"
    assert session.exec(select(func.count()).select_from(RecommendationCitation)).one() == 26


def test_texts_are_verbatim(session, seeded):
    assert _recommendation(session, "5.1").text == (
        "Develop firm arrangements for formally sharing postnatal mental health care plans "
        "with maternity services."
    )
    # The report leaves this one without a full stop; so do we.
    assert _recommendation(session, "4.5").text.endswith("child protection conferences")


def test_the_action_plan_is_required_from_both_ccgs(session, seeded):
    rows = session.exec(
        select(Organisation.code)
        .join(ReportActionPlanOrganisation, ReportActionPlanOrganisation.organisation_id == Organisation.id)
        .order_by(Organisation.code)
    )
    assert list(rows) == ["GHCCG", "NKCCG"]


def test_loading_twice_changes_nothing(session, seeded, clock):
    before = _counts(session)
    again = load_seed(session, now=clock.now())
    assert not again.organisations_created and not again.report_created
    assert _counts(session) == before
