"""Responses of a report import: the preview of what the text says, and what the import did.

One shape for every answer (dry run or not), so clients and the command line
read the same field names. Counts and ``organisations_created`` describe the
plan; ``written`` says whether it was carried out.
"""

from datetime import date
from typing import Literal

from pydantic import Field

from app.domain.status import OrganisationKind
from app.schemas.common import ResponseModel

Resolution = Literal["matched", "new", "ambiguous"]
Outcome = Literal["created", "unchanged", "changes_detected", "changes_applied", "refused"]
Change = Literal["added", "removed", "text_changed", "section_changed", "owners_changed", "citations_changed"]


class OrganisationCandidate(ResponseModel):
    id: int | None = Field(description="None for an organisation this import would create.")
    code: str
    name: str


class NewOrganisation(ResponseModel):
    id: int | None = Field(description="Null when not written.")
    code: str
    name: str
    kind: OrganisationKind


class OrganisationResolution(ResponseModel):
    """An organisation as the report names it, and what it resolves to in the database."""

    name: str = Field(description="As the report writes it.")
    resolution: Resolution = Field(
        description="matched: an existing organisation; new: one the import creates; "
        "ambiguous: several fit, so the import refuses to write."
    )
    code: str | None = Field(
        description="matched: the existing code; new: the proposed code; ambiguous: null."
    )
    organisation_id: int | None = Field(description="The existing organisation's id, when matched.")
    kind: OrganisationKind | None = Field(
        description="matched: the organisation's kind; new: the kind guessed from the name."
    )
    candidates: list[OrganisationCandidate] = Field(
        description="When ambiguous: every organisation that fits."
    )


class CitationPreview(ResponseModel):
    paragraph: str | None = Field(description="The citing paragraph, e.g. 5.1.19; null if none precedes it.")
    section: str | None
    line: int
    page: int | None = Field(default=None, description="Its page in the PDF, when imported from one.")


class RecommendationPreview(ResponseModel):
    ref: str
    text: str
    section: str | None = Field(description="The section of the first citing paragraph.")
    owners: list[OrganisationResolution] = Field(description="In the order the report names them.")
    citations: list[CitationPreview]
    line: int
    page: int | None = Field(default=None, description="Its page in the PDF, when imported from one.")


class ActionPlanPreview(ResponseModel):
    working_days: int
    organisations: list[OrganisationResolution]
    line: int
    page: int | None = Field(default=None, description="Its page in the PDF, when imported from one.")


class UnknownCitationPreview(ResponseModel):
    ref: str = Field(description="A recommendation the report cites but does not make.")
    paragraph: str | None
    section: str | None
    line: int
    page: int | None = Field(default=None, description="Its page in the PDF, when imported from one.")


class ReportFields(ResponseModel):
    """The report as it would be stored (slug, regulator and received date after defaults and overrides)."""

    slug: str | None = Field(description="Null when it cannot be derived (no date): pass `slug`.")
    title: str
    regulator: str
    area: str | None
    review_start_date: date | None
    review_end_date: date | None
    published_date: date | None
    received_date: date | None = Field(description="Defaults to published_date.")
    working_days_allowed: int
    calendar: str


class ImportPreview(ResponseModel):
    report: ReportFields
    action_plan: ActionPlanPreview | None = Field(description="Null when the text has no action-plan clause.")
    recommendations: list[RecommendationPreview]
    sections: list[str] = Field(description="Sections the recommendations sit in, in order of first use.")
    organisations: list[OrganisationResolution] = Field(description="Every organisation named, once.")
    unknown_citations: list[UnknownCitationPreview]


class ImportWarning(ResponseModel):
    """Something a person should check; ``code`` is stable, ``message`` is for people."""

    code: str = Field(examples=["uncertain_owner_split", "numbering_gap", "uncited_recommendation"])
    message: str
    line: int | None
    page: int | None = Field(default=None, description="Its page in the PDF, when imported from one.")


class CitationValue(ResponseModel):
    paragraph: str
    section: str | None


DifferenceValue = str | list[str] | list[CitationValue] | None


class Difference(ResponseModel):
    """How one recommendation in the text differs from the stored one."""

    ref: str
    change: Change
    before: DifferenceValue = Field(
        description="Stored value: text or section (string), owners (codes), citations; null when added."
    )
    after: DifferenceValue = Field(description="Value in the text; null when removed.")
    blocked: str | None = Field(
        default=None, description="Why this change cannot be applied without losing history, if it cannot."
    )


class ReportFieldDifference(ResponseModel):
    """A report field that differs from the stored report. Imports never change these: PATCH the report."""

    field: str
    stored: str | int | list[str] | None
    imported: str | int | list[str] | None


class RecommendationCounts(ResponseModel):
    in_text: int
    created: int
    updated: int
    removed: int
    unchanged: int


# An import's blockers; the first one's code is the code of the problem that refuses it.
BlockerCode = Literal[
    "ambiguous_organisation",
    "duplicate_ref",
    "no_recommendations",
    "no_slug",
    "invalid_data",
    "would_lose_history",
    "recommendation_closed",
]


class Blocker(ResponseModel):
    """A reason the import refuses to write."""

    code: BlockerCode
    message: str
    line: int | None = None
    ref: str | None = None
    name: str | None = Field(default=None, description="The organisation name, when ambiguous.")
    candidates: list[OrganisationCandidate] = Field(default_factory=list)


class ImportResult(ResponseModel):
    outcome: Outcome = Field(
        description="created: a new report; unchanged: the stored report already says this; "
        "changes_detected: it differs, nothing written (pass apply_changes=true); changes_applied; "
        "refused (dry runs only: a real import would be refused for `blockers`)."
    )
    dry_run: bool
    written: bool = Field(description="Whether anything was written.")
    slug: str | None
    report_id: int | None = Field(description="The stored report's id, when there is one.")
    organisations_created: list[NewOrganisation] = Field(
        description="Organisations created (or, when written is false, that would be)."
    )
    recommendations: RecommendationCounts
    differences: list[Difference] = Field(description="Against the stored report with this slug.")
    report_differences: list[ReportFieldDifference]
    blockers: list[Blocker] = Field(
        description="Why a real import would be refused; empty when it would not."
    )
    warnings: list[ImportWarning]
    preview: ImportPreview
