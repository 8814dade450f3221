"""The import service on texts written here in the report format, against a real database."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.domain.access import SYSTEM
from app.errors import InvalidInput
from app.models import (
    AuditEvent,
    Organisation,
    ProgressUpdate,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
)
from app.schemas.organisations import OrganisationCreate
from app.services import importer, organisations
from app.services.importer import ImportOptions, ImportRefused

TABLES = (
    Organisation,
    Report,
    ReportActionPlanOrganisation,
    Recommendation,
    RecommendationOwner,
    RecommendationCitation,
    ProgressUpdate,
)
GAMMA = "The Gamma Hospitals NHS Trust"
CCGS = "NHS Delta CCG and NHS Epsilon CCG"
NEW_TRUST = "Alpha and Beta NHS Foundation Trust"

GROUPS = [
    (GAMMA, [("Ensure that maternity records are legible.", "Early help"), ("Train staff.", "Governance")]),
    (f"{CCGS} and {GAMMA}", [("Agree the strategy for the front door.", "Governance")]),
    (NEW_TRUST, [("Speed up the handover of care.", "Early help")]),
]


def report_text(groups=GROUPS, *, published: str = "17 May 2019", action_plan: str = CCGS) -> str:
    """A report in the CQC review format; ``groups`` is [(owners, [(text, section), ...]), ...]."""
    sections: dict[str, list[str]] = {}
    recommendations = []
    for number, (owners, items) in enumerate(groups, start=1):
        recommendations += [f"{number}. {owners} should:", ""]
        for item, (text, section) in enumerate(items, start=1):
            recommendations.append(f"{number}.{item} {text}")
            sections.setdefault(section, []).append(f"{number}.{item}")
        recommendations.append("")
    body = []
    for number, (title, refs) in enumerate(sections.items(), start=1):
        body += [f"{number}. {title}", ""]
        for paragraph, ref in enumerate(refs, start=1):
            body += [f"{number}.{paragraph} We found things to improve. [Recommendation {ref}](#)", ""]
    return "\n".join(
        [
            "Review of health services for Children Looked-after and Safeguarding in Testshire",
            "",
            "Date of review: 4 March 2019 to 8 March 2019",
            f"Date of publication: {published}",
            "",
            *body,
            "Recommendations",
            "",
            *recommendations,
            "Next steps",
            "",
            f"An action plan addressing the recommendations above is required from {action_plan}, "
            "within 20 working days of receipt of this report.",
        ]
    )


@pytest.fixture
def stored(session, clock):
    """The organisations the texts name, except the new trust; two that "OHT" could mean."""
    for code, name, kind in [
        ("GHT", GAMMA, "nhs_trust"),
        ("DCCG", "NHS Delta CCG", "ccg"),
        ("ECCG", "NHS Epsilon CCG", "ccg"),
        ("OHT1", "Omega Health Trust", "nhs_trust"),
        ("OHT2", "Omega Hospitals Trust", "nhs_trust"),
    ]:
        data = OrganisationCreate(code=code, name=name, kind=kind)
        organisations.add_organisation(session, actor=SYSTEM, data=data, now=clock.now())
    session.commit()


@pytest.fixture
def run(session, clock):
    def run(text: str, now: datetime | None = None, **kwargs):
        options = ImportOptions(
            **{k: kwargs.pop(k) for k in ("slug", "received_date", "regulator") if k in kwargs}
        )
        return importer.import_text(
            session, text=text, actor=SYSTEM, options=options, now=clock.now(), **kwargs
        )

    return run


def counts(session) -> dict[str, int]:
    return {t.__tablename__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def owners_of(session, ref: str) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Organisation.code, RecommendationOwner.status)
        .join(RecommendationOwner, RecommendationOwner.organisation_id == Organisation.id)
        .join(Recommendation, Recommendation.id == RecommendationOwner.recommendation_id)
        .where(Recommendation.ref == ref)
        .order_by(RecommendationOwner.position)
    )
    return [tuple(row) for row in rows]


def recommendation(session, ref: str) -> Recommendation:
    return session.exec(select(Recommendation).where(Recommendation.ref == ref)).one()


def state(session) -> list[tuple]:
    """Every recommendation with its owners and citations, and every row's updated_at."""
    rows = []
    for r in session.exec(select(Recommendation).order_by(Recommendation.position)):
        citations = session.exec(
            select(RecommendationCitation.paragraph, RecommendationCitation.section)
            .where(RecommendationCitation.recommendation_id == r.id)
            .order_by(RecommendationCitation.id)
        ).all()
        rows.append(
            (r.ref, r.text, r.section, r.updated_at, owners_of(session, r.ref), [tuple(c) for c in citations])
        )
    reports = [(r.slug, r.updated_at) for r in session.exec(select(Report))]
    return [rows, reports, session.exec(select(Organisation.code, Organisation.updated_at)).all()]


# -- guesses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Calderdale and Huddersfield NHS Foundation Trust", "foundation_trust"),
        ("The Mid Yorkshire Hospitals NHS Trust", "nhs_trust"),
        ("NHS North Kirklees CCG", "ccg"),
        ("NHS Wakefield Clinical Commissioning Group", "ccg"),
        ("NHS England", "nhs_england_region"),
        ("NHS England North Region Yorkshire and Humber office", "nhs_england_region"),
        ("Locala Community Partnerships Community Interest Company", "community_interest_company"),
        ("Kirklees Council", "local_authority"),
        ("Change, Grow, Live", "other"),
        ("Northorpe Hall Child and Family Trust", "other"),
    ],
)
def test_the_kind_is_guessed_from_the_name(name, kind):
    assert importer.guess_kind(name) == kind


@pytest.mark.parametrize(
    ("title", "area", "regulator", "year", "slug"),
    [
        ("Review of health services for Children Looked-after and Safeguarding in Kirklees", "Kirklees",
         "Care Quality Commission", 2018, "kirklees-clas-2018"),
        ("Inspection of children's services", "Bradford", "Ofsted", 2022, "bradford-ofsted-2022"),
        ("Joint inspection", "St Helens", "Care Quality Commission", 2020, "st-helens-cqc-2020"),
        ("Serious case review: Child A", None, "Local Safeguarding Board", 2017,
         "serious-case-review-child-a-lsb-2017"),
        ("Anything", "Kirklees", "Ofsted", None, None),
    ],
)  # fmt: skip
def test_the_slug_is_area_tag_and_year(title, area, regulator, year, slug):
    assert importer.derive_slug(title=title, area=area, regulator=regulator, year=year) == slug


# -- dry run and first import ---------------------------------------------------------------------------


def test_a_dry_run_previews_everything_and_writes_nothing(session, stored, run):
    before = counts(session)
    result = run(report_text(), dry_run=True)
    assert counts(session) == before
    assert (result.outcome, result.dry_run, result.written, result.report_id) == (
        "created",
        True,
        False,
        None,
    )
    assert result.slug == "testshire-clas-2019"
    report = result.preview.report
    assert (report.published_date, report.received_date, report.working_days_allowed) == (
        date(2019, 5, 17),
        date(2019, 5, 17),
        20,
    )
    assert report.regulator == "Care Quality Commission"
    joint = result.preview.recommendations[2]
    assert joint.ref == "2.1" and joint.section == "Governance"
    assert [(o.name, o.resolution, o.code) for o in joint.owners] == [
        ("NHS Delta CCG", "matched", "DCCG"),
        ("NHS Epsilon CCG", "matched", "ECCG"),
        (GAMMA, "matched", "GHT"),
    ]
    assert [(c.paragraph, c.section) for c in joint.citations] == [("2.2", "Governance")]
    new = result.preview.recommendations[3].owners[0]
    assert (new.resolution, new.code, new.kind, new.organisation_id) == (
        "new",
        "ABFT",
        "foundation_trust",
        None,
    )
    assert [(o.code, o.name) for o in result.organisations_created] == [("ABFT", NEW_TRUST)]
    assert result.preview.sections == ["Early help", "Governance"]
    assert [o.code for o in result.preview.action_plan.organisations] == ["DCCG", "ECCG"]
    assert result.recommendations.in_text == result.recommendations.created == 4
    assert result.blockers == [] and result.warnings == []


def test_import_creates_everything_in_one_go(session, stored, run):
    before = counts(session)
    result = run(report_text())
    assert (result.outcome, result.written) == ("created", True)
    after = counts(session)
    assert after["organisation"] == before["organisation"] + 1
    assert (after["report"], after["recommendation"], after["recommendation_owner"]) == (1, 4, 6)
    report = session.get(Report, result.report_id)
    assert (report.slug, report.title, report.area) == (
        "testshire-clas-2019",
        "Review of health services for Children Looked-after and Safeguarding in Testshire",
        "Testshire",
    )
    assert (report.review_start_date, report.review_end_date) == (date(2019, 3, 4), date(2019, 3, 8))
    assert report.received_date == report.published_date == date(2019, 5, 17)
    planned = session.exec(
        select(Organisation.code)
        .join(ReportActionPlanOrganisation, ReportActionPlanOrganisation.organisation_id == Organisation.id)
        .order_by(Organisation.code)
    )
    assert list(planned) == ["DCCG", "ECCG"]
    assert owners_of(session, "2.1") == [
        ("DCCG", "not_started"),
        ("ECCG", "not_started"),
        ("GHT", "not_started"),
    ]
    assert owners_of(session, "3.1") == [("ABFT", "not_started")]
    created = organisations.find_by_code(session, "ABFT")
    assert (created.name, created.kind) == (NEW_TRUST, "foundation_trust")
    assert [o.id for o in result.organisations_created] == [created.id]
    assert recommendation(session, "1.2").section == "Governance"
    events = session.exec(select(AuditEvent.entity, func.count()).group_by(AuditEvent.entity)).all()
    assert dict(events)["recommendation"] == 4


def test_the_caller_may_set_slug_received_date_and_regulator(session, stored, run):
    result = run(report_text(), slug="testshire-2019", received_date=date(2019, 5, 20), regulator="Ofsted")
    report = session.get(Report, result.report_id)
    assert (report.slug, report.received_date, report.regulator) == (
        "testshire-2019",
        date(2019, 5, 20),
        "Ofsted",
    )


# -- importing again ------------------------------------------------------------------------------------


def test_importing_the_same_text_again_changes_nothing(session, stored, run, clock):
    first = run(report_text())
    before, rows = counts(session), state(session)
    again = run(report_text(), now=datetime(2019, 6, 1, 9, 0, tzinfo=UTC))
    assert (again.outcome, again.written, again.report_id) == ("unchanged", False, first.report_id)
    assert again.differences == [] and again.report_differences == [] and again.organisations_created == []
    assert again.recommendations.unchanged == 4
    assert counts(session) == before
    assert state(session) == rows


AMENDED = [
    (GAMMA, [("Ensure that all maternity records are legible.", "Early help")]),  # 1.2 removed, 1.1 reworded
    (f"{CCGS}, {GAMMA} and {NEW_TRUST}", [("Agree the strategy for the front door.", "Governance")]),
    (
        NEW_TRUST,
        [("Speed up the handover of care.", "Child protection"), ("Audit the handover.", "Early help")],
    ),
]


def test_an_amended_text_is_reported_and_nothing_changes(session, stored, run):
    run(report_text())
    before, rows = counts(session), state(session)
    result = run(report_text(AMENDED))
    assert (result.outcome, result.written) == ("changes_detected", False)
    assert counts(session) == before and state(session) == rows
    changes = [(d.ref, d.change) for d in result.differences]
    assert changes == [
        ("1.1", "text_changed"),
        ("1.2", "removed"),
        ("2.1", "owners_changed"),
        ("2.1", "citations_changed"),  # the body's paragraphs are renumbered
        ("3.1", "section_changed"),
        ("3.1", "citations_changed"),
        ("3.2", "added"),
    ]
    owners = next(d for d in result.differences if d.change == "owners_changed")
    assert (owners.before, owners.after) == (["DCCG", "ECCG", "GHT"], ["DCCG", "ECCG", "GHT", "ABFT"])
    assert result.recommendations.model_dump() == {
        "in_text": 4, "created": 1, "updated": 3, "removed": 1, "unchanged": 0
    }  # fmt: skip
    assert all(d.blocked is None for d in result.differences) and result.blockers == []


def test_applying_an_amended_text(session, stored, run):
    first = run(report_text())
    result = run(report_text(AMENDED), apply_changes=True)
    assert (result.outcome, result.written, result.report_id) == ("changes_applied", True, first.report_id)
    assert recommendation(session, "1.1").text == "Ensure that all maternity records are legible."
    assert recommendation(session, "1.1").version == 2
    assert session.exec(select(Recommendation).where(Recommendation.ref == "1.2")).first() is None
    assert [code for code, _ in owners_of(session, "2.1")] == ["DCCG", "ECCG", "GHT", "ABFT"]
    assert owners_of(session, "2.1")[-1] == ("ABFT", "not_started")
    assert recommendation(session, "3.1").section == "Child protection"
    assert owners_of(session, "3.2") == [("ABFT", "not_started")]
    assert counts(session)["recommendation"] == 4
    assert run(report_text(AMENDED)).outcome == "unchanged"


def test_an_owner_without_history_can_be_removed(session, stored, run):
    run(report_text())
    fewer = [GROUPS[0], (CCGS, GROUPS[1][1]), GROUPS[2]]
    result = run(report_text(fewer), apply_changes=True)
    assert result.outcome == "changes_applied"
    assert [code for code, _ in owners_of(session, "2.1")] == ["DCCG", "ECCG"]


def progress(session, ref: str, code: str, clock) -> None:
    session.add(
        ProgressUpdate(
            recommendation_id=recommendation(session, ref).id,
            organisation_id=organisations.find_by_code(session, code).id,
            author="A. Tester",
            narrative="Started.",
            status="in_progress",
            reported_on=date(2019, 6, 1),
            created_at=clock.now(),
        )
    )
    session.commit()


def test_removing_a_recommendation_with_progress_is_refused(session, stored, run, clock):
    run(report_text())
    progress(session, "1.2", "GHT", clock)
    before, rows = counts(session), state(session)
    detected = run(report_text(AMENDED))
    removed = next(d for d in detected.differences if d.change == "removed")
    assert "1 progress update(s)" in removed.blocked
    with pytest.raises(ImportRefused) as refused:
        run(report_text(AMENDED), apply_changes=True)
    assert (refused.value.status, refused.value.code) == (409, "would_lose_history")
    assert refused.value.extensions["blockers"][0]["ref"] == "1.2"
    assert counts(session) == before and state(session) == rows
    dry = run(report_text(AMENDED), apply_changes=True, dry_run=True)
    assert dry.outcome == "refused" and [b.code for b in dry.blockers] == ["would_lose_history"]


def test_removing_an_owner_with_progress_is_refused(session, stored, run, clock):
    run(report_text())
    progress(session, "2.1", "GHT", clock)
    fewer = [GROUPS[0], (CCGS, GROUPS[1][1]), GROUPS[2]]
    with pytest.raises(ImportRefused) as refused:
        run(report_text(fewer), apply_changes=True)
    assert refused.value.status == 409
    assert "GHT is no longer an owner of 2.1" in refused.value.detail
    assert [code for code, _ in owners_of(session, "2.1")] == ["DCCG", "ECCG", "GHT"]


def test_a_new_owner_starts_not_started_and_the_roll_up_follows(session, stored, run, clock):
    run(report_text())
    progress(session, "3.1", "ABFT", clock)
    recommendation(session, "3.1").status = "in_progress"
    session.commit()
    joint = [*GROUPS[:2], (f"{NEW_TRUST} and {GAMMA}", GROUPS[2][1])]
    run(report_text(joint), apply_changes=True)
    assert owners_of(session, "3.1") == [("ABFT", "not_started"), ("GHT", "not_started")]
    assert recommendation(session, "3.1").status == "not_started"


# -- refusals -------------------------------------------------------------------------------------------


def test_an_ambiguous_name_is_never_guessed(session, stored, run):
    text = report_text([*GROUPS, ("OHT", [("Improve supervision.", "Governance")])])
    dry = run(text, dry_run=True)
    owner = dry.preview.recommendations[-1].owners[0]
    assert (owner.resolution, owner.code) == ("ambiguous", None)
    assert sorted(c.code for c in owner.candidates) == ["OHT1", "OHT2"]
    assert dry.outcome == "refused" and dry.blockers[0].code == "ambiguous_organisation"
    before = counts(session)
    with pytest.raises(ImportRefused) as refused:
        run(text)
    assert (refused.value.status, refused.value.code) == (409, "ambiguous_organisation")
    blocker = refused.value.extensions["blockers"][0]
    assert blocker["name"] == "OHT" and {c["code"] for c in blocker["candidates"]} == {"OHT1", "OHT2"}
    assert counts(session) == before


def test_repeated_refs_are_refused(session, stored, run):
    text = report_text().replace("1.2 Train staff.", "1.1 Train staff.")
    with pytest.raises(ImportRefused) as refused:
        run(text)
    assert (refused.value.status, refused.value.code) == (422, "duplicate_ref")
    assert "1.1 appears 2 times" in refused.value.detail
    assert counts(session)["report"] == 0


def test_without_a_publication_date_the_caller_must_say_when(session, stored, run):
    text = report_text().replace("Date of publication: 17 May 2019\n", "")
    with pytest.raises(ImportRefused) as refused:
        run(text)
    assert refused.value.status == 422
    assert "pass received_date" in refused.value.detail
    result = run(text, received_date=date(2019, 5, 20))
    assert result.slug == "testshire-clas-2019" and result.outcome == "created"


def test_text_that_is_not_a_report_says_what_was_expected_and_where(session, run):
    with pytest.raises(InvalidInput) as error:
        run("Minutes of the board meeting\n\nRecommendations\n\nNone this time.\n")
    assert error.value.code == "not_a_report"
    assert error.value.extensions["line"] == 3
    assert "line 3" in error.value.detail and "should:" in error.value.detail


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b"Title\nline two\n\xff\xfe bad", "not_utf8", 3),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "not_plain_text", None),
        (b"Title\n\x00\x01", "not_plain_text", 2),
    ],
)
def test_only_utf8_text_is_read(data, code, line):
    with pytest.raises(InvalidInput) as error:
        importer.decode_text(data)
    assert error.value.code == code and error.value.extensions.get("line") == line
