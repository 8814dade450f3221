"""Import a report from its published text: plan against the database, then write in one transaction.

The parser (app.importer.parser) reads the text; this module decides what the
text means for the database, through the same request schemas and staging
services as the API, so an imported report obeys the same rules as a typed one.

The rules:

* Organisation names resolve with ``match_organisation`` against the stored
  organisations (and those this import proposes): matched -> used; new ->
  created with the proposed code and a kind guessed from the name; ambiguous
  -> the import refuses to write (409, with the candidates). It never guesses.
* A report is known by its slug: "<area>-<tag>-<year>" unless the caller
  passes one ("kirklees-clas-2018"; the tag is "clas" for a Children
  Looked-after and Safeguarding review, else the regulator's initials).
* No stored report with the slug -> created. Otherwise the text's
  recommendations are compared with the stored ones, by ref: identical ->
  "unchanged", nothing written; different -> "changes_detected" with the
  differences, nothing written, unless ``apply_changes``: then texts, sections
  and citations are updated, recommendations and owners added (new owners
  start not_started), and recommendations and owners that are gone removed.
* History is never lost: a recommendation is removed only when nothing has
  been recorded against it (progress updates, evidence, assurance decisions,
  target-date revisions), an owner only when it has reported no progress or
  evidence on it, and the owners of a verified or closed recommendation do not
  change. Otherwise applying is refused (409) and nothing is written.
* The stored report's own fields (title, dates, working days, action-plan
  organisations) are never changed by an import: differences are listed in
  ``report_differences``; PATCH the report to change them.
* Repeated refs, no recommendations, no slug or data the request schemas
  refuse -> 422, nothing written.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from app.domain.access import Actor
from app.domain.status import TERMINAL_STATUSES, Status, roll_up
from app.errors import AppError, Conflict, InvalidInput
from app.importer.limits import TextTooLarge, check_text_limits
from app.importer.parser import NotAReport, ReportPreview, parse_report
from app.models import Organisation, Recommendation, RecommendationCitation, RecommendationOwner, Report
from app.schemas.imports import (
    ActionPlanPreview,
    Blocker,
    CitationPreview,
    CitationValue,
    ImportPreview,
    ImportResult,
    ImportWarning,
    NewOrganisation,
    Outcome,
    RecommendationCounts,
    RecommendationPreview,
    ReportFields,
    UnknownCitationPreview,
)
from app.schemas.organisations import OrganisationCreate
from app.schemas.recommendations import RecommendationCreate
from app.services import audit, change_scopes, organisations, recommendations, reports, tallies, versions
from app.services.import_plan import (
    ImportOptions,
    ImportPlan,
    StoredRecommendation,
    derive_slug,
    guess_kind,
    plan_import,
    stored_section,
)

__all__ = [
    "ImportOptions",
    "ImportRefused",
    "decode_text",
    "derive_slug",
    "guess_kind",
    "import_report",
    "import_text",
    "parse_text",
    "plan_import",
]

# Refusals that the text itself causes; the others depend on what is stored.
_TEXT_BLOCKERS = frozenset({"duplicate_ref", "no_recommendations", "no_slug", "invalid_data"})


class ImportRefused(AppError):
    """Nothing was written: 422 when the text itself is at fault, else 409 (what is stored prevents it)."""

    title = "Import refused"

    def __init__(self, blockers: list[Blocker]) -> None:
        self.status = 422 if any(b.code in _TEXT_BLOCKERS for b in blockers) else 409
        detail = " ".join(b.message for b in blockers[:5])
        more = f" (and {len(blockers) - 5} more)" if len(blockers) > 5 else ""
        super().__init__(
            f"Nothing was imported. {detail}{more}",
            code=blockers[0].code,
            blockers=[b.model_dump(mode="json", exclude_none=True) for b in blockers],
        )


# -- text -----------------------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """The report's text from UTF-8 bytes, or a clear 422."""
    if data.lstrip().startswith(b"%PDF"):
        raise InvalidInput(
            "This is a PDF file: send the report's text instead (copy it out of the PDF, save as UTF-8).",
            code="not_plain_text",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"The text is not UTF-8: byte {exc.start} (line {line}) cannot be decoded. "
            "Save the report as UTF-8 plain text.",
            code="not_utf8",
            line=line,
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidInput(
            f"The text contains a NUL character (line {line}): expected plain text, not a binary file.",
            code="not_plain_text",
            line=line,
        )
    return text


def parse_text(session: Session, text: str) -> ReportPreview:
    """Parse ``text``, helped by the stored organisation names; 422 when it is not a report."""
    try:
        check_text_limits(text)
    except TextTooLarge as exc:
        raise InvalidInput(
            f"The text is too long to read: {exc.message}.", code="text_too_large", line=exc.line
        ) from None
    names = list(session.exec(select(Organisation.name)))
    try:
        return parse_report(text, known_organisations=names)
    except NotAReport as exc:
        raise InvalidInput(f"Not a report: {exc.message}", code="not_a_report", line=exc.line) from None


# -- writing --------------------------------------------------------------------------------------------


def _needed_codes(plan: ImportPlan, *, new_report: bool) -> set[str]:
    """Codes of the organisations the writes use: all of them for a new report, else those changes touch."""
    if new_report:
        owners = {code for item in plan.items if item.data for code in item.data.owners}
        return owners | set(plan.fields["action_plan_organisations"])
    touched = {d.ref for d in plan.differences if d.change in ("added", "owners_changed")}
    return {
        code for item in plan.items if item.data and item.data.ref in touched for code in item.data.owners
    }


def _add_organisations(
    session: Session, *, actor: Actor, plan: ImportPlan, new_report: bool, now: datetime
) -> list[NewOrganisation]:
    items = [
        OrganisationCreate(code=proposal.code, name=proposal.name, kind=proposal.kind)
        for proposal in plan.resolver.new_organisations(_needed_codes(plan, new_report=new_report))
    ]
    created = organisations.add_organisations(session, actor=actor, items=items, now=now)
    return [NewOrganisation.model_validate(organisation) for organisation in created]


def _create(session: Session, *, actor: Actor, plan: ImportPlan, now: datetime) -> tuple[int, list]:
    created = _add_organisations(session, actor=actor, plan=plan, new_report=True, now=now)
    report = reports.add_report(session, actor=actor, data=plan.report_data, now=now)
    items = [item.data for item in plan.items]
    recommendations.add_recommendations(session, actor=actor, report=report, items=items, now=now)
    return report.id, created


def _apply(session: Session, *, actor: Actor, plan: ImportPlan, now: datetime) -> list[NewOrganisation]:
    changes: dict[str, set[str]] = defaultdict(set)
    for difference in plan.differences:
        changes[difference.ref].add(difference.change)
    data = {item.data.ref: item.data for item in plan.items}
    created = _add_organisations(session, actor=actor, plan=plan, new_report=False, now=now)
    for ref, kinds in changes.items():
        if "added" in kinds:
            recommendations.add_recommendation(
                session, actor=actor, report=plan.existing, data=data[ref], now=now
            )
        elif "removed" in kinds:
            _remove(session, actor=actor, report=plan.existing, old=plan.stored[ref], now=now)
        else:
            _update(session, actor=actor, old=plan.stored[ref], data=data[ref], kinds=kinds, now=now)
    return created


def _update(
    session: Session,
    *,
    actor: Actor,
    old: StoredRecommendation,
    data: RecommendationCreate,
    kinds: set[str],
    now: datetime,
) -> None:
    recommendation = old.recommendation
    before = {**audit.snapshot(recommendation), "owners": old.owners, "citations": _dumped(old.citations)}
    touched = change_scopes.of_recommendation(session, recommendation.id)  # its owners until now
    recommendation.text, recommendation.section = data.text, stored_section(data)
    if "citations_changed" in kinds:
        _replace_citations(session, recommendation.id, data)
    if "owners_changed" in kinds:
        with tallies.kept(session, recommendation_ids=[recommendation.id]):
            _sync_owners(session, recommendation, data.owners, now)
    recommendation.updated_at = now
    versions.bump(recommendation)
    session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before=before,
        after={
            **audit.snapshot(recommendation),
            "owners": data.owners,
            "citations": [c.model_dump() for c in data.citations],
        },
        scopes=touched | change_scopes.of_recommendation(session, recommendation.id),
    )


def _dumped(citations: list[CitationValue]) -> list[dict]:
    return [c.model_dump() for c in citations]


def _replace_citations(session: Session, recommendation_id: int, data: RecommendationCreate) -> None:
    session.exec(
        delete(RecommendationCitation).where(RecommendationCitation.recommendation_id == recommendation_id)
    )
    for citation in data.citations:
        session.add(
            RecommendationCitation(
                recommendation_id=recommendation_id, paragraph=citation.paragraph, section=citation.section
            )
        )
    session.flush()


def _sync_owners(session: Session, recommendation: Recommendation, codes: list[str], now: datetime) -> None:
    """Owners in the text's order: new ones start not_started, absent ones (without history) go."""
    wanted = organisations.resolve_codes(session, codes)
    current = {
        owner.organisation_id: owner
        for owner in session.exec(
            select(RecommendationOwner).where(RecommendationOwner.recommendation_id == recommendation.id)
        )
    }
    wanted_ids = {organisation.id for organisation in wanted}
    for organisation_id, owner in current.items():
        if organisation_id not in wanted_ids:
            session.delete(owner)
    for position, organisation in enumerate(wanted):
        owner = current.get(organisation.id) or RecommendationOwner(
            recommendation_id=recommendation.id, organisation_id=organisation.id, updated_at=now
        )
        owner.position = position
        session.add(owner)
    session.flush()
    if Status(recommendation.status) not in TERMINAL_STATUSES:
        statuses = session.exec(
            select(RecommendationOwner.status).where(
                RecommendationOwner.recommendation_id == recommendation.id
            )
        )
        recommendation.status = roll_up(statuses)


def _remove(
    session: Session, *, actor: Actor, report: Report, old: StoredRecommendation, now: datetime
) -> None:
    recommendation = old.recommendation
    before = {**audit.snapshot(recommendation), "owners": old.owners, "citations": _dumped(old.citations)}
    touched = change_scopes.of_recommendation(session, recommendation.id)
    tallies.removing(session, [recommendation.id])
    for model in (RecommendationCitation, RecommendationOwner):
        session.exec(delete(model).where(model.recommendation_id == recommendation.id))
    session.delete(recommendation)
    versions.bump(report)  # its recommendation count changed
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before=before,
        scopes=touched,
    )


# -- the use case ---------------------------------------------------------------------------------------


def import_report(
    session: Session,
    *,
    actor: Actor,
    preview: ReportPreview,
    options: ImportOptions,
    now: datetime,
    dry_run: bool = False,
    apply_changes: bool = False,
    page_of: Callable[[int | None], int | None] | None = None,
) -> ImportResult:
    """Plan the import and, unless it is a dry run, carry it out in one transaction.

    ``page_of`` maps a line of the parsed text to its page in the PDF it came from, for the preview.
    """
    plan = plan_import(session, preview, options, lock=apply_changes and not dry_run)
    outcome = plan.outcome(apply_changes)
    result = partial(
        _result, plan, outcome, dry_run=dry_run, apply_changes=apply_changes, page_of=page_of or _no_page
    )
    if dry_run:
        return result(created=_would_create(plan, new_report=plan.existing is None))
    if outcome == "refused":
        raise ImportRefused(plan.refusals(apply_changes))
    if outcome not in ("created", "changes_applied"):
        return result(created=_would_create(plan, new_report=False))
    try:
        if outcome == "created":
            report_id, created = _create(session, actor=actor, plan=plan, now=now)
        else:
            report_id, created = plan.existing.id, _apply(session, actor=actor, plan=plan, now=now)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "Another change to this report or its organisations was made at the same time; try again.",
            code="concurrent_import",
        ) from None
    return result(created=created, report_id=report_id)


def import_text(session: Session, *, text: str, **kwargs) -> ImportResult:
    """Parse ``text`` and import it (see :func:`import_report` for the keyword arguments)."""
    return import_report(session, preview=parse_text(session, text), **kwargs)


def _no_page(line: int | None) -> None:
    return None


def _would_create(plan: ImportPlan, *, new_report: bool) -> list[NewOrganisation]:
    return [
        NewOrganisation(id=None, code=r.code, name=r.name, kind=r.kind)
        for r in plan.resolver.new_organisations(_needed_codes(plan, new_report=new_report))
    ]


def _counts(plan: ImportPlan) -> RecommendationCounts:
    in_text = len(plan.preview.recommendations)
    if plan.existing is None:
        return RecommendationCounts(in_text=in_text, created=in_text, updated=0, removed=0, unchanged=0)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for difference in plan.differences:
        kind = difference.change if difference.change in ("added", "removed") else "updated"
        by_kind[kind].add(difference.ref)
    created, updated, removed = (len(by_kind[k]) for k in ("added", "updated", "removed"))
    return RecommendationCounts(
        in_text=in_text,
        created=created,
        updated=updated,
        removed=removed,
        unchanged=in_text - created - updated,
    )


def _result(
    plan: ImportPlan,
    outcome: Outcome,
    *,
    dry_run: bool,
    apply_changes: bool,
    created: list[NewOrganisation],
    page_of: Callable[[int | None], int | None],
    report_id: int | None = None,
) -> ImportResult:
    return ImportResult(
        outcome=outcome,
        dry_run=dry_run,
        written=not dry_run and outcome in ("created", "changes_applied"),
        slug=plan.fields["slug"],
        report_id=report_id or (plan.existing.id if plan.existing else None),
        organisations_created=created,
        recommendations=_counts(plan),
        differences=plan.differences,
        report_differences=plan.report_differences,
        blockers=plan.refusals(apply_changes),
        warnings=[
            ImportWarning(code=w.code, message=w.message, line=w.line, page=page_of(w.line))
            for w in plan.preview.warnings
        ],
        preview=_preview(plan, page_of),
    )


def _preview(plan: ImportPlan, page_of: Callable[[int | None], int | None]) -> ImportPreview:
    preview, resolver = plan.preview, plan.resolver
    clause = preview.action_plan
    items = [
        RecommendationPreview(
            ref=r.ref,
            text=r.text,
            section=r.section,
            owners=[resolver.resolve(name) for name in r.owners],
            citations=[
                CitationPreview(paragraph=c.paragraph, section=c.section, line=c.line, page=page_of(c.line))
                for c in r.citations
            ],
            line=r.line,
            page=page_of(r.line),
        )
        for r in preview.recommendations
    ]
    return ImportPreview(
        report=ReportFields.model_validate(
            {k: v for k, v in plan.fields.items() if k in ReportFields.model_fields}
        ),
        action_plan=ActionPlanPreview(
            working_days=clause.working_days,
            organisations=[resolver.resolve(name) for name in clause.organisations],
            line=clause.line,
            page=page_of(clause.line),
        )
        if clause
        else None,
        recommendations=items,
        sections=list(dict.fromkeys(r.section for r in preview.recommendations if r.section)),
        organisations=list(resolver.by_name.values()),
        unknown_citations=[
            UnknownCitationPreview.model_validate({**u.to_dict(), "page": page_of(u.line)})
            for u in preview.citations_of_unknown
        ],
    )
