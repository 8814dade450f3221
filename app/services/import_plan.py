"""The plan of an import: what the text's organisations, report and recommendations mean for the database.

Computed without writing: names resolved, request data built and validated,
the stored report of the same slug compared, and every reason to refuse
collected. app.services.importer carries the plan out; its docstring states
the rules.
"""

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from app.domain.status import TERMINAL_STATUSES, OrganisationKind, Status
from app.importer.matching import KnownOrganisation, acronym, match_organisation, normalise_org_name
from app.importer.parser import ParsedRecommendation, ReportPreview
from app.models import (
    AssuranceDecision,
    EvidenceLink,
    Organisation,
    ProgressUpdate,
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
    Report,
    ReportActionPlanOrganisation,
    TargetDateRevision,
)
from app.schemas.imports import (
    Blocker,
    CitationValue,
    Difference,
    OrganisationCandidate,
    OrganisationResolution,
    Outcome,
    ReportFieldDifference,
)
from app.schemas.recommendations import RecommendationCreate
from app.schemas.reports import ReportCreate
from app.services import recommendations, reports

DEFAULT_REGULATOR = "Care Quality Commission"
DEFAULT_WORKING_DAYS = 20
DEFAULT_CALENDAR = "england-and-wales"


@dataclass(frozen=True)
class ImportOptions:
    slug: str | None = None
    received_date: date | None = None
    regulator: str | None = None


# -- guesses --------------------------------------------------------------------------------------------

_KIND_RULES: tuple[tuple[re.Pattern[str], OrganisationKind], ...] = (
    (re.compile(r"\bcommunity interest company$|\bcic$"), OrganisationKind.COMMUNITY_INTEREST_COMPANY),
    (re.compile(r"\bfoundation trust$"), OrganisationKind.FOUNDATION_TRUST),
    (re.compile(r"\bnhs trust$"), OrganisationKind.NHS_TRUST),
    (re.compile(r"\b(?:ccg|clinical commissioning group)$"), OrganisationKind.CCG),
    (re.compile(r"^(?:the )?nhs england\b"), OrganisationKind.NHS_ENGLAND_REGION),
    (re.compile(r"\bcouncil\b"), OrganisationKind.LOCAL_AUTHORITY),
)
# No "(" inside: each try stops at the next one, so a name of "((((" is read once (linear).
_TRAILING_PARENTHESIS = re.compile(r"\([^()]*\)$")


def guess_kind(name: str) -> OrganisationKind:
    """A kind from how the name ends ("... NHS Foundation Trust"); ``other`` when nothing fits."""
    text = " ".join(_TRAILING_PARENTHESIS.sub("", name.rstrip()).casefold().split())
    return next((kind for pattern, kind in _KIND_RULES if pattern.search(text)), OrganisationKind.OTHER)


# Both phrases, in either order; looked for apart, as ".*" between them would read the rest of
# the title again from every occurrence of the first.
_LOOKED_AFTER = re.compile(r"looked[\s-]*after\b", re.I)
_SAFEGUARDING = re.compile(r"\bsafeguarding\b", re.I)


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def derive_slug(*, title: str, area: str | None, regulator: str, year: int | None) -> str | None:
    """The slug <area>-<tag>-<year>, e.g. "kirklees-clas-2018"; None without a year."""
    if year is None:
        return None
    place = _slugify(area or " ".join(title.split()[:6]))[:60].strip("-")
    clas = _LOOKED_AFTER.search(title) and _SAFEGUARDING.search(title)
    tag = "clas" if clas else _slugify(acronym(regulator) if " " in regulator else regulator)
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
class StoredRecommendation:
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
    stored: dict[str, StoredRecommendation] = field(default_factory=dict)
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
    resolver, invalid = _Resolver(session), []
    items = [_Item(p, _recommendation_data(p, resolver, invalid)) for p in preview.recommendations]
    fields = _report_fields(preview, options, resolver)
    report_data = _report_data(fields, invalid)
    plan = ImportPlan(
        preview=preview,
        fields=fields,
        report_data=report_data,
        resolver=resolver,
        items=items,
        blockers=[*_text_blockers(preview, fields), *resolver.blockers(), *invalid],
    )
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
    slug = options.slug or derive_slug(title=preview.title, area=preview.area, regulator=regulator, year=year)
    return {
        "slug": slug,
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


def _report_data(fields: dict, blockers: list[Blocker]) -> ReportCreate | None:
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
    raw = {
        "ref": parsed.ref,
        "text": parsed.text,
        "section": parsed.section,
        "owners": list(dict.fromkeys(owner.code for owner in owners)),
        "citations": [
            {"paragraph": c.paragraph, "section": c.section} for c in parsed.citations if c.paragraph
        ],
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


def _load_stored(session: Session, report: Report, *, lock: bool) -> dict[str, StoredRecommendation]:
    query = select(Recommendation).where(Recommendation.report_id == report.id)
    rows = session.exec((query.with_for_update() if lock else query).order_by(Recommendation.position))
    stored = {r.ref: StoredRecommendation(r, [], {}, []) for r in rows}
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


def stored_section(data: RecommendationCreate) -> str | None:
    """The section as add_recommendation stores it."""
    return data.section or (data.citations[0].section if data.citations else None)


def _changes(old: StoredRecommendation, data: RecommendationCreate) -> list[Difference]:
    citations = [CitationValue(paragraph=c.paragraph, section=c.section) for c in data.citations]
    pairs = (
        ("text_changed", old.recommendation.text, data.text),
        ("section_changed", old.recommendation.section, stored_section(data)),
        ("owners_changed", old.owners, data.owners),
        ("citations_changed", old.citations, citations),
    )
    return [
        Difference(ref=data.ref, change=change, before=before, after=after)
        for change, before, after in pairs
        if before != after
    ]


def _differences(items: list[_Item], stored: dict[str, StoredRecommendation]) -> list[Difference]:
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


_RECOMMENDATION_HISTORY = (
    (ProgressUpdate, "progress update(s)"),
    (EvidenceLink, "evidence link(s)"),
    (AssuranceDecision, "assurance decision(s)"),
    (TargetDateRevision, "target-date revision(s)"),
)
_OWNER_HISTORY = _RECOMMENDATION_HISTORY[:2]


def _history(session: Session, kinds, **where: int) -> list[str]:
    """What has been recorded against a recommendation (or one owner of it): ["2 progress update(s)"]."""
    found = []
    for model, what in kinds:
        conditions = [getattr(model, column) == value for column, value in where.items()]
        count = session.exec(select(func.count()).select_from(model).where(*conditions)).one()
        if count:
            found.append(f"{count} {what}")
    return found


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


def _removal_blocker(session: Session, old: StoredRecommendation) -> Blocker | None:
    history = _history(session, _RECOMMENDATION_HISTORY, recommendation_id=old.recommendation.id)
    if old.recommendation.target_date is not None:
        history.append(f"a target date ({old.recommendation.target_date})")
    if not history:
        return None
    ref = old.recommendation.ref
    message = f"Recommendation {ref} is not in the text but has {', '.join(history)}; it is kept."
    return Blocker(code="would_lose_history", message=message, ref=ref)


def _owner_change_blocker(session: Session, old: StoredRecommendation, codes) -> Blocker | None:
    recommendation, gone = old.recommendation, [c for c in old.owners if c not in codes]
    if set(old.owners) != set(codes) and Status(recommendation.status) in TERMINAL_STATUSES:
        message = (
            f"Recommendation {recommendation.ref} is {recommendation.status}: its owners cannot change "
            "until it is reopened."
        )
        return Blocker(code="recommendation_closed", message=message, ref=recommendation.ref)
    for code in gone:
        ids = {"recommendation_id": recommendation.id, "organisation_id": old.owner_ids[code]}
        history = _history(session, _OWNER_HISTORY, **ids)
        if history:
            message = (
                f"{code} is no longer an owner of {recommendation.ref} in the text but has "
                f"{', '.join(history)} on it; it is kept."
            )
            return Blocker(code="would_lose_history", message=message, ref=recommendation.ref)
    return None
