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

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from app.domain.access import Actor
from app.domain.status import TERMINAL_STATUSES, Status, roll_up
from app.errors import AppError, Conflict, InvalidInput
from app.importer.matching import KnownOrganisation, acronym, match_organisation, normalise_org_name
from app.importer.parser import NotAReport, ParsedRecommendation, ReportPreview, parse_report
from app.models import (
    AssuranceDecision,
    EvidenceLink,
    Organisation,
    OrganisationKind,
    ProgressUpdate,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
    TargetDateRevision,
)
from app.schemas.imports import (
    ActionPlanPreview,
    Blocker,
    CitationPreview,
    CitationValue,
    Difference,
    ImportPreview,
    ImportResult,
    ImportWarning,
    NewOrganisation,
    OrganisationCandidate,
    OrganisationResolution,
    Outcome,
    RecommendationCounts,
    RecommendationPreview,
    ReportFieldDifference,
    ReportFields,
    UnknownCitationPreview,
)
from app.schemas.organisations import OrganisationCreate
from app.schemas.recommendations import RecommendationCreate
from app.schemas.reports import ReportCreate
from app.services import audit, organisations, recommendations, reports

DEFAULT_REGULATOR = "Care Quality Commission"
DEFAULT_WORKING_DAYS = 20
DEFAULT_CALENDAR = "england-and-wales"
# Refusals that the text itself causes; the others depend on what is stored.
_TEXT_BLOCKERS = frozenset({"duplicate_ref", "no_recommendations", "no_slug", "invalid_data"})


class ImportRefused(AppError):
    status, code, title = 409, "import_refused", "Import refused"


@dataclass(frozen=True)
class ImportOptions:
    slug: str | None = None
    received_date: date | None = None
    regulator: str | None = None


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
    names = list(session.exec(select(Organisation.name)))
    try:
        return parse_report(text, known_organisations=names)
    except NotAReport as exc:
        raise InvalidInput(f"Not a report: {exc.message}", code="not_a_report", line=exc.line) from None


# -- guesses --------------------------------------------------------------------------------------------

_KIND_RULES: tuple[tuple[re.Pattern[str], OrganisationKind], ...] = (
    (re.compile(r"\bcommunity interest company$|\bcic$"), OrganisationKind.COMMUNITY_INTEREST_COMPANY),
    (re.compile(r"\bfoundation trust$"), OrganisationKind.FOUNDATION_TRUST),
    (re.compile(r"\bnhs trust$"), OrganisationKind.NHS_TRUST),
    (re.compile(r"\b(?:ccg|clinical commissioning group)$"), OrganisationKind.CCG),
    (re.compile(r"^(?:the )?nhs england\b"), OrganisationKind.NHS_ENGLAND_REGION),
    (re.compile(r"\bcouncil\b"), OrganisationKind.LOCAL_AUTHORITY),
)
_TRAILING_PARENTHESIS = re.compile(r"\s*\([^)]*\)\s*$")


def guess_kind(name: str) -> OrganisationKind:
    """A kind from how the name ends ("... NHS Foundation Trust"); ``other`` when nothing fits."""
    text = " ".join(_TRAILING_PARENTHESIS.sub("", name).casefold().split())
    return next((kind for pattern, kind in _KIND_RULES if pattern.search(text)), OrganisationKind.OTHER)


_CLAS = re.compile(r"looked[\s-]*after\b.*\bsafeguarding|\bsafeguarding\b.*looked[\s-]*after", re.I)


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def derive_slug(*, title: str, area: str | None, regulator: str, year: int | None) -> str | None:
    """ "<area>-<tag>-<year>", e.g. "kirklees-clas-2018"; None without a year."""
    if year is None:
        return None
    place = _slugify(area or " ".join(title.split()[:6]))[:60].strip("-")
    tag = "clas" if _CLAS.search(title) else _slugify(acronym(regulator) if " " in regulator else regulator)
    return "-".join(part for part in (place, tag[:20].strip("-"), str(year)) if part)


# -- organisations --------------------------------------------------------------------------------------


class _Resolver:
    """Resolves names against the stored organisations and those this import proposes to create."""

    def __init__(self, session: Session) -> None:
        stored = session.exec(select(Organisation).order_by(Organisation.id)).all()
        self.known = [KnownOrganisation(o.id, o.code, o.name) for o in stored]
        self.kinds = {o.code: OrganisationKind(o.kind) for o in stored}
        self.by_name: dict[str, OrganisationResolution] = {}

    def resolve(self, name: str) -> OrganisationResolution:
        key = normalise_org_name(name) or name
        if key not in self.by_name:
            self.by_name[key] = self._match(name)
        return self.by_name[key]

    def _match(self, name: str) -> OrganisationResolution:
        match = match_organisation(name, self.known)
        found = match.organisation
        if match.kind == "new":
            code = match.proposed_code or ""
            self.known.append(KnownOrganisation(None, code, name))
            self.kinds[code] = guess_kind(name)
            return self._resolution(name, "new", code)
        if found is not None:
            # A name for an organisation this import proposes is "new" too, with the same code.
            return self._resolution(name, "matched" if found.id else "new", found.code, found.id)
        candidates = [OrganisationCandidate(id=c.id, code=c.code, name=c.name) for c in match.candidates]
        return OrganisationResolution(
            name=name,
            resolution="ambiguous",
            code=None,
            organisation_id=None,
            kind=None,
            candidates=candidates,
        )

    def _resolution(
        self, name: str, resolution: str, code: str, organisation_id: int | None = None
    ) -> OrganisationResolution:
        return OrganisationResolution(
            name=name,
            resolution=resolution,
            code=code,
            organisation_id=organisation_id,
            kind=self.kinds[code],
            candidates=[],
        )

    def codes(self, names: list[str]) -> list[str]:
        """Codes of ``names`` in order, each once; ambiguous names are left out (they block the import)."""
        codes = [self.resolve(name).code for name in names]
        return list(dict.fromkeys(code for code in codes if code))

    def blockers(self) -> list[Blocker]:
        return [
            Blocker(
                code="ambiguous_organisation",
                message=f"{r.name!r} could be any of: "
                + ", ".join(f"{c.code} ({c.name})" for c in r.candidates)
                + ". Rename the organisation in the text to one of these names or codes.",
                name=r.name,
                candidates=r.candidates,
            )
            for r in self.by_name.values()
            if r.resolution == "ambiguous"
        ]

    def new_organisations(self, codes: set[str]) -> list[OrganisationResolution]:
        """The proposals among ``codes``, once each, named as the report first names them."""
        first: dict[str, OrganisationResolution] = {}
        for resolution in self.by_name.values():
            if resolution.resolution == "new" and resolution.code in codes:
                first.setdefault(resolution.code, resolution)
        return list(first.values())


# -- the plan -------------------------------------------------------------------------------------------


@dataclass
class _Stored:
    """A stored recommendation with its owners' codes and citations, in order."""

    recommendation: Recommendation
    owners: list[str]
    owner_ids: dict[str, int]  # code -> organisation id
    citations: list[CitationValue]


@dataclass
class _Item:
    parsed: ParsedRecommendation
    data: RecommendationCreate | None  # None when an owner is ambiguous or the data is invalid


@dataclass
class ImportPlan:
    """What importing a preview would do; computed without writing."""

    preview: ReportPreview
    fields: dict
    report_data: ReportCreate | None
    resolver: _Resolver
    items: list[_Item]
    existing: Report | None = None
    stored: dict[str, _Stored] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    report_differences: list[ReportFieldDifference] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    history_blockers: list[Blocker] = field(default_factory=list)  # only when applying changes

    def refusals(self, apply_changes: bool) -> list[Blocker]:
        applying = apply_changes and self.existing is not None and bool(self.differences)
        return [*self.blockers, *(self.history_blockers if applying else [])]

    def outcome(self, apply_changes: bool) -> Outcome:
        if self.refusals(apply_changes):
            return "refused"
        if self.existing is None:
            return "created"
        if not self.differences:
            return "unchanged"
        return "changes_applied" if apply_changes else "changes_detected"


def plan_import(
    session: Session, preview: ReportPreview, options: ImportOptions, *, lock: bool = False
) -> ImportPlan:
    """Resolve names, build the request data, and compare with the stored report of the same slug."""
    resolver, blockers = _Resolver(session), []
    items = [_Item(p, _recommendation_data(p, resolver, blockers)) for p in preview.recommendations]
    fields = _report_fields(preview, options, resolver)
    plan = ImportPlan(preview=preview, fields=fields, report_data=None, resolver=resolver, items=items)
    plan.blockers = blockers
    plan.report_data = _report_data(fields, preview, plan.blockers)
    plan.blockers[:0] = _text_blockers(preview, fields) + resolver.blockers()
    if fields["slug"]:
        plan.existing = reports.find_by_slug(session, fields["slug"])
    if plan.existing is not None:
        _compare(session, plan, options, lock=lock)
    return plan


def _report_fields(preview: ReportPreview, options: ImportOptions, resolver: _Resolver) -> dict:
    regulator = options.regulator or DEFAULT_REGULATOR
    received = options.received_date or preview.published_date
    clause = preview.action_plan
    dates = (preview.published_date, options.received_date, preview.review_end_date)
    year = next((day.year for day in dates if day), None)
    return {
        "slug": options.slug
        or derive_slug(title=preview.title, area=preview.area, regulator=regulator, year=year),
        "title": preview.title,
        "regulator": regulator,
        "area": preview.area,
        "review_start_date": preview.review_start_date,
        "review_end_date": preview.review_end_date,
        "published_date": preview.published_date,
        "received_date": received,
        "working_days_allowed": clause.working_days if clause else DEFAULT_WORKING_DAYS,
        "calendar": DEFAULT_CALENDAR,
        "action_plan_organisations": resolver.codes(clause.organisations if clause else []),
    }


def _text_blockers(preview: ReportPreview, fields: dict) -> list[Blocker]:
    blockers = []
    counts = Counter(r.ref for r in preview.recommendations)
    for ref in (ref for ref, count in counts.items() if count > 1):
        lines = [r.line for r in preview.recommendations if r.ref == ref]
        message = f"Recommendation {ref} appears {counts[ref]} times (lines {', '.join(map(str, lines))})."
        blockers.append(Blocker(code="duplicate_ref", message=message, line=lines[1], ref=ref))
    if not preview.recommendations:
        message = "The Recommendations section has no numbered recommendations ('1.1 <text>')."
        blockers.append(Blocker(code="no_recommendations", message=message))
    if not fields["slug"]:
        message = "No slug: the text has no date of publication to take the year from. Pass slug."
        blockers.append(Blocker(code="no_slug", message=message))
    return blockers


def _errors(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()[:3]]
    return "; ".join(parts)


def _report_data(fields: dict, preview: ReportPreview, blockers: list[Blocker]) -> ReportCreate | None:
    if fields["received_date"] is None:
        message = "The text has no 'Date of publication': pass received_date."
        blockers.append(Blocker(code="invalid_data", message=message))
        return None
    if not fields["slug"]:
        return None
    try:
        return ReportCreate.model_validate(fields)
    except ValidationError as exc:
        blockers.append(Blocker(code="invalid_data", message=f"The report: {_errors(exc)}", line=1))
        return None


def _recommendation_data(
    parsed: ParsedRecommendation, resolver: _Resolver, blockers: list[Blocker]
) -> RecommendationCreate | None:
    owners = [resolver.resolve(name) for name in parsed.owners]
    if any(owner.code is None for owner in owners):
        return None
    cited = [{"paragraph": c.paragraph, "section": c.section} for c in parsed.citations if c.paragraph]
    raw = {
        "ref": parsed.ref,
        "text": parsed.text,
        "section": parsed.section,
        "owners": list(dict.fromkeys(owner.code for owner in owners)),
        "citations": list({c["paragraph"]: c for c in cited}.values()),
    }
    try:
        return RecommendationCreate.model_validate(raw)
    except ValidationError as exc:
        message = f"Recommendation {parsed.ref}: {_errors(exc)}"
        blockers.append(Blocker(code="invalid_data", message=message, line=parsed.line, ref=parsed.ref))
        return None


# -- comparing with the stored report -------------------------------------------------------------------


def _compare(session: Session, plan: ImportPlan, options: ImportOptions, *, lock: bool) -> None:
    plan.stored = _load_stored(session, plan.existing, lock=lock)
    plan.differences = _differences(plan.items, plan.stored)
    plan.report_differences = _report_differences(session, plan.existing, plan.fields, options)
    plan.history_blockers = _history_blockers(session, plan)


def _load_stored(session: Session, report: Report, *, lock: bool) -> dict[str, _Stored]:
    query = select(Recommendation).where(Recommendation.report_id == report.id)
    rows = session.exec((query.with_for_update() if lock else query).order_by(Recommendation.position))
    stored = {r.ref: _Stored(r, [], {}, []) for r in rows}
    by_id = {s.recommendation.id: s for s in stored.values()}
    owners = session.exec(
        select(RecommendationOwner.recommendation_id, Organisation.id, Organisation.code)
        .join(Organisation, Organisation.id == RecommendationOwner.organisation_id)
        .where(RecommendationOwner.recommendation_id.in_(by_id))
        .order_by(RecommendationOwner.recommendation_id, RecommendationOwner.position)
    )
    for recommendation_id, organisation_id, code in owners:
        by_id[recommendation_id].owners.append(code)
        by_id[recommendation_id].owner_ids[code] = organisation_id
    citations = session.exec(
        select(RecommendationCitation)
        .where(RecommendationCitation.recommendation_id.in_(by_id))
        .order_by(RecommendationCitation.recommendation_id, RecommendationCitation.id)
    )
    for citation in citations:
        by_id[citation.recommendation_id].citations.append(CitationValue.model_validate(citation))
    return stored


def _section(data: RecommendationCreate) -> str | None:
    """The section as add_recommendation stores it."""
    return data.section or (data.citations[0].section if data.citations else None)


def _changes(old: _Stored, data: RecommendationCreate) -> list[Difference]:
    citations = [CitationValue(paragraph=c.paragraph, section=c.section) for c in data.citations]
    pairs = (
        ("text_changed", old.recommendation.text, data.text),
        ("section_changed", old.recommendation.section, _section(data)),
        ("owners_changed", old.owners, data.owners),
        ("citations_changed", old.citations, citations),
    )
    return [
        Difference(ref=data.ref, change=change, before=before, after=after)
        for change, before, after in pairs
        if before != after
    ]


def _differences(items: list[_Item], stored: dict[str, _Stored]) -> list[Difference]:
    differences: list[Difference] = []
    for data in (item.data for item in items if item.data):
        old = stored.get(data.ref)
        if old is None:
            differences.append(Difference(ref=data.ref, change="added", before=None, after=data.text))
        else:
            differences.extend(_changes(old, data))
    refs = {item.parsed.ref for item in items}
    for ref, old in stored.items():
        if ref not in refs:
            text = old.recommendation.text
            differences.append(Difference(ref=ref, change="removed", before=text, after=None))
    return sorted(differences, key=lambda d: recommendations.ref_position(d.ref))


def _report_differences(
    session: Session, report: Report, fields: dict, options: ImportOptions
) -> list[ReportFieldDifference]:
    compared = ["title", "area", "review_start_date", "review_end_date", "published_date"]
    compared += ["working_days_allowed"]
    compared += [name for name in ("regulator", "received_date") if getattr(options, name)]
    differences = [
        ReportFieldDifference(field=name, stored=_plain(getattr(report, name)), imported=_plain(fields[name]))
        for name in compared
        if getattr(report, name) != fields[name]
    ]
    stored_codes = sorted(
        session.exec(
            select(Organisation.code)
            .join(
                ReportActionPlanOrganisation, ReportActionPlanOrganisation.organisation_id == Organisation.id
            )
            .where(ReportActionPlanOrganisation.report_id == report.id)
        )
    )
    if stored_codes != sorted(fields["action_plan_organisations"]):
        imported = sorted(fields["action_plan_organisations"])
        differences.append(
            ReportFieldDifference(field="action_plan_organisations", stored=stored_codes, imported=imported)
        )
    return differences


def _plain(value: object) -> str | int | None:
    return value.isoformat() if isinstance(value, date) else value  # type: ignore[return-value]


# -- history: what applying changes must not lose -------------------------------------------------------


def _count(session: Session, model, **where: int) -> int:
    conditions = [getattr(model, column) == value for column, value in where.items()]
    return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


def _recommendation_history(session: Session, recommendation_id: int) -> list[str]:
    found = [
        (_count(session, ProgressUpdate, recommendation_id=recommendation_id), "progress update(s)"),
        (_count(session, EvidenceLink, recommendation_id=recommendation_id), "evidence link(s)"),
        (_count(session, AssuranceDecision, recommendation_id=recommendation_id), "assurance decision(s)"),
        (_count(session, TargetDateRevision, recommendation_id=recommendation_id), "target-date revision(s)"),
    ]
    return [f"{count} {what}" for count, what in found if count]


def _owner_history(session: Session, recommendation_id: int, organisation_id: int) -> list[str]:
    ids = {"recommendation_id": recommendation_id, "organisation_id": organisation_id}
    found = [
        (_count(session, ProgressUpdate, **ids), "progress update(s)"),
        (_count(session, EvidenceLink, **ids), "evidence link(s)"),
    ]
    return [f"{count} {what}" for count, what in found if count]


def _history_blockers(session: Session, plan: ImportPlan) -> list[Blocker]:
    blockers = []
    for difference in plan.differences:
        if difference.change == "removed":
            blocker = _removal_blocker(session, plan.stored[difference.ref])
        elif difference.change == "owners_changed":
            blocker = _owner_change_blocker(session, plan.stored[difference.ref], difference.after)
        else:
            continue
        if blocker is not None:
            difference.blocked = blocker.message
            blockers.append(blocker)
    return blockers


def _removal_blocker(session: Session, old: _Stored) -> Blocker | None:
    history = _recommendation_history(session, old.recommendation.id)
    if not history:
        return None
    ref = old.recommendation.ref
    message = f"Recommendation {ref} is not in the text but has {', '.join(history)}; it is kept."
    return Blocker(code="would_lose_history", message=message, ref=ref)


def _owner_change_blocker(session: Session, old: _Stored, codes) -> Blocker | None:
    recommendation, gone = old.recommendation, [c for c in old.owners if c not in codes]
    if set(old.owners) != set(codes) and Status(recommendation.status) in TERMINAL_STATUSES:
        message = (
            f"Recommendation {recommendation.ref} is {recommendation.status}: its owners cannot change "
            "until it is reopened."
        )
        return Blocker(code="recommendation_closed", message=message, ref=recommendation.ref)
    for code in gone:
        history = _owner_history(session, recommendation.id, old.owner_ids[code])
        if history:
            message = (
                f"{code} is no longer an owner of {recommendation.ref} in the text but has "
                f"{', '.join(history)} on it; it is kept."
            )
            return Blocker(code="would_lose_history", message=message, ref=recommendation.ref)
    return None


# -- writing --------------------------------------------------------------------------------------------


def _add_organisations(
    session: Session, *, actor: Actor, plan: ImportPlan, codes: set[str], now: datetime
) -> list[NewOrganisation]:
    created = []
    for proposal in plan.resolver.new_organisations(codes):
        data = OrganisationCreate(code=proposal.code, name=proposal.name, kind=proposal.kind)
        organisation = organisations.add_organisation(session, actor=actor, data=data, now=now)
        created.append(NewOrganisation.model_validate(organisation))
    return created


def _create(session: Session, *, actor: Actor, plan: ImportPlan, now: datetime) -> tuple[int, list]:
    codes = {c for item in plan.items for c in item.data.owners} | set(
        plan.report_data.action_plan_organisations
    )
    created = _add_organisations(session, actor=actor, plan=plan, codes=codes, now=now)
    report = reports.add_report(session, actor=actor, data=plan.report_data, now=now)
    for item in plan.items:
        recommendations.add_recommendation(session, actor=actor, report=report, data=item.data, now=now)
    return report.id, created


def _apply(session: Session, *, actor: Actor, plan: ImportPlan, now: datetime) -> list[NewOrganisation]:
    changes: dict[str, set[str]] = defaultdict(set)
    for difference in plan.differences:
        changes[difference.ref].add(difference.change)
    data = {item.data.ref: item.data for item in plan.items}
    codes = {
        c for ref, kinds in changes.items() if kinds & {"added", "owners_changed"} for c in data[ref].owners
    }
    created = _add_organisations(session, actor=actor, plan=plan, codes=codes, now=now)
    for ref, kinds in changes.items():
        if "added" in kinds:
            recommendations.add_recommendation(
                session, actor=actor, report=plan.existing, data=data[ref], now=now
            )
        elif "removed" in kinds:
            _remove(session, actor=actor, old=plan.stored[ref], now=now)
        else:
            _update(session, actor=actor, old=plan.stored[ref], data=data[ref], kinds=kinds, now=now)
    return created


def _update(
    session: Session,
    *,
    actor: Actor,
    old: _Stored,
    data: RecommendationCreate,
    kinds: set[str],
    now: datetime,
) -> None:
    recommendation = old.recommendation
    before = {**audit.snapshot(recommendation), "owners": old.owners, "citations": _dumped(old.citations)}
    recommendation.text, recommendation.section = data.text, _section(data)
    if "citations_changed" in kinds:
        _replace_citations(session, recommendation.id, data)
    if "owners_changed" in kinds:
        _sync_owners(session, recommendation, data.owners, now)
    recommendation.updated_at = now
    session.add(recommendation)
    audit.record(
        session,
        actor=actor,
        action="import_update",
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before=before,
        after={
            **audit.snapshot(recommendation),
            "owners": data.owners,
            "citations": [c.model_dump() for c in data.citations],
        },
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
    for organisation_id, owner in current.items():
        if organisation_id not in {o.id for o in wanted}:
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


def _remove(session: Session, *, actor: Actor, old: _Stored, now: datetime) -> None:
    recommendation = old.recommendation
    before = {**audit.snapshot(recommendation), "owners": old.owners, "citations": _dumped(old.citations)}
    for model in (RecommendationCitation, RecommendationOwner):
        session.exec(delete(model).where(model.recommendation_id == recommendation.id))
    session.delete(recommendation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="import_delete",
        entity="recommendation",
        entity_id=recommendation.id,
        now=now,
        before=before,
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
) -> ImportResult:
    """Plan the import and, unless it is a dry run, carry it out in one transaction."""
    plan = plan_import(session, preview, options, lock=apply_changes and not dry_run)
    outcome = plan.outcome(apply_changes)
    result = partial(_result, plan, outcome, dry_run=dry_run, apply_changes=apply_changes)
    if dry_run:
        return result(created=_would_create(plan, outcome))
    if outcome == "refused":
        raise _refusal(plan.refusals(apply_changes))
    if outcome not in ("created", "changes_applied"):
        return result(created=_would_create(plan, "changes_applied"))
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


def _refusal(blockers: list[Blocker]) -> ImportRefused:
    status = 422 if any(b.code in _TEXT_BLOCKERS for b in blockers) else 409
    detail = " ".join(b.message for b in blockers[:5])
    more = f" (and {len(blockers) - 5} more)" if len(blockers) > 5 else ""
    error = ImportRefused(
        f"Nothing was imported. {detail}{more}",
        code=blockers[0].code,
        blockers=[b.model_dump(mode="json", exclude_none=True) for b in blockers],
    )
    error.status = status
    return error


def _would_create(plan: ImportPlan, outcome: Outcome) -> list[NewOrganisation]:
    if outcome == "created" or (outcome == "refused" and plan.existing is None):
        items = [i.data for i in plan.items if i.data]
        codes = {c for data in items for c in data.owners} | set(plan.fields["action_plan_organisations"])
    else:
        touched = {d.ref for d in plan.differences if d.change in ("added", "owners_changed")}
        codes = {c for i in plan.items if i.data and i.data.ref in touched for c in i.data.owners}
    return [
        NewOrganisation(id=None, code=r.code, name=r.name, kind=r.kind)
        for r in plan.resolver.new_organisations(codes)
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
        warnings=[ImportWarning(code=w.code, message=w.message, line=w.line) for w in plan.preview.warnings],
        preview=_preview(plan),
    )


def _preview(plan: ImportPlan) -> ImportPreview:
    preview, resolver = plan.preview, plan.resolver
    clause = preview.action_plan
    items = [
        RecommendationPreview(
            ref=r.ref,
            text=r.text,
            section=r.section,
            owners=[resolver.resolve(name) for name in r.owners],
            citations=[
                CitationPreview(paragraph=c.paragraph, section=c.section, line=c.line) for c in r.citations
            ],
            line=r.line,
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
        )
        if clause
        else None,
        recommendations=items,
        sections=list(dict.fromkeys(r.section for r in preview.recommendations if r.section)),
        organisations=list(resolver.by_name.values()),
        unknown_citations=[
            UnknownCitationPreview.model_validate(u.to_dict()) for u in preview.citations_of_unknown
        ],
    )
