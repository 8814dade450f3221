"""All tables, imported here so that ``SQLModel.metadata`` knows them."""

from app.models import base as _base  # noqa: F401  (naming convention first)
from app.models.access import ApiKey, AssuranceDecision, AuditEvent, TargetDateRevision
from app.models.idempotency import IdempotencyRecord
from app.models.organisation import Organisation
from app.models.progress import EvidenceLink, ProgressUpdate
from app.models.recommendation import (
    Recommendation,
    RecommendationCitation,
    RecommendationOwner,
)
from app.models.reminder import Reminder, ReminderEmail
from app.models.report import Report, ReportActionPlanOrganisation
from app.models.scope_version import ScopeVersion
from app.models.tally import OwnerDueTally, OwnerStatusTally, RecommendationTally
from app.models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    WebhookOutboxCursor,
    WebhookWorker,
)

__all__ = [
    "ApiKey",
    "AssuranceDecision",
    "AuditEvent",
    "TargetDateRevision",
    "EvidenceLink",
    "IdempotencyRecord",
    "Organisation",
    "ProgressUpdate",
    "Recommendation",
    "RecommendationCitation",
    "RecommendationOwner",
    "Report",
    "Reminder",
    "ReminderEmail",
    "ReportActionPlanOrganisation",
    "ScopeVersion",
    "OwnerDueTally",
    "OwnerStatusTally",
    "RecommendationTally",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
    "WebhookOutboxCursor",
    "WebhookWorker",
]
