"""Dashboard summaries: stable field names, every count for one ``as_of`` date."""

from datetime import date

from pydantic import Field

from app.domain.deadlines import ActionPlanState
from app.domain.status import OwnerStatus
from app.schemas.common import ResponseModel


class StatusCounts(ResponseModel):
    not_started: int = 0
    in_progress: int = 0
    implemented: int = 0
    verified: int = 0
    closed_not_implemented: int = 0


class OwnerStatusCounts(ResponseModel):
    not_started: int = 0
    in_progress: int = 0
    implemented: int = 0


class RagCounts(ResponseModel):
    red: int = 0
    amber: int = 0
    green: int = 0
    blue: int = 0
    grey: int = 0


class ActionPlanStateCounts(ResponseModel):
    not_yet_due: int = 0
    due_soon: int = 0
    overdue: int = 0
    submitted_on_time: int = 0
    submitted_late: int = 0


class ActionPlan(ResponseModel):
    state: ActionPlanState
    due_date: date
    submitted_date: date | None
    working_days_late: int | None = Field(description="For overdue and submitted_late.")
    working_days_remaining: int | None = Field(description="For not_yet_due and due_soon.")


class OrganisationBreakdown(ResponseModel):
    """One owner's share: a jointly owned recommendation counts for each owner, with its own status."""

    organisation_id: int
    code: str
    name: str
    recommendations: int
    by_status: OwnerStatusCounts
    overdue: int = Field(description="Owned, past due, and this owner not yet implemented.")


class Counts(ResponseModel):
    total: int = Field(description="Recommendations counted.")
    by_status: StatusCounts
    by_rag: RagCounts
    overdue: int
    due_soon: int
    implemented_or_verified_share: float = Field(
        description="Share (0 to 1) of recommendations implemented or verified; 0 when there are none."
    )


class ReportSummary(Counts):
    report_id: int
    slug: str
    as_of: date
    action_plan: ActionPlan
    organisations: list[OrganisationBreakdown]


class PortfolioSummary(Counts):
    as_of: date
    reports: int
    action_plans: ActionPlanStateCounts
    organisations: list[OrganisationBreakdown]


class OrganisationSummary(ResponseModel):
    organisation_id: int
    code: str
    name: str
    as_of: date
    recommendations: int = Field(description="Recommendations this organisation owns (alone or jointly).")
    by_status: OwnerStatusCounts = Field(description="This organisation's own status on each.")
    by_rag: RagCounts = Field(description="The recommendations' RAG colours.")
    overdue: int = Field(description="Past due and this organisation not yet implemented.")
    implemented_share: float
    reports: int = Field(description="Reports with a recommendation this organisation owns.")
    action_plans: ActionPlanStateCounts = Field(description="Reports whose action plan is required from it.")


OWNER_STATUSES = [s.value for s in OwnerStatus]
