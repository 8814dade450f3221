"""Which webhook events a change makes, and the event types there are.

A change is an audit event (entity, action, before, after): the change feed is
the outbox. This module names the events; the service adds who and where.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHANGE_EVENT_TYPES = (
    "report.created",
    "progress_update.created",
    "evidence_link.created",
    "recommendation.status_changed",
    "recommendation.decision_recorded",
    "recommendation.target_date_changed",
    "action_plan.submitted",
)
REMINDER_EVENT_TYPES = (
    "recommendation.due_soon",
    "recommendation.overdue",
    "recommendation.stale",
    "action_plan.due_soon",
    "action_plan.overdue",
)
EVENT_TYPES = CHANGE_EVENT_TYPES + REMINDER_EVENT_TYPES

DECISIONS = frozenset({"verified", "closed_not_implemented", "reopened"})


@dataclass(frozen=True)
class ChangeEvent:
    type: str
    # Facts of this change, beside the report, recommendation and organisation the service adds.
    details: Mapping[str, Any] = field(default_factory=dict)


def events_for_change(
    *, entity: str, action: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[ChangeEvent]:
    """The webhook events one audited change makes; none for changes integrators are not told of."""
    before, after = before or {}, after or {}
    events: list[ChangeEvent] = []
    if entity == "report" and action == "create":
        events.append(ChangeEvent("report.created"))
    elif entity == "report" and action == "update":
        submitted = after.get("action_plan_submitted_date")
        if submitted and not before.get("action_plan_submitted_date"):
            events.append(ChangeEvent("action_plan.submitted", {"submitted_date": submitted}))
    elif entity == "progress_update" and action == "create":
        events.append(
            ChangeEvent(
                "progress_update.created",
                {
                    "progress_update_id": after.get("id"),
                    "status": after.get("status"),
                    "reported_on": after.get("reported_on"),
                },
            )
        )
        status = after.get("recommendation_status") or {}
        if status.get("before") != status.get("after"):
            events.append(_status_changed(status.get("before"), status.get("after")))
    elif entity == "evidence_link" and action == "create":
        events.append(
            ChangeEvent(
                "evidence_link.created", {"evidence_link_id": after.get("id"), "url": after.get("url")}
            )
        )
    elif entity == "recommendation" and action in DECISIONS:
        events.append(
            ChangeEvent(
                "recommendation.decision_recorded",
                {"decision": action, "decision_id": after.get("decision_id"), "reason": after.get("reason")},
            )
        )
        if before.get("status") != after.get("status"):
            events.append(_status_changed(before.get("status"), after.get("status")))
    elif entity == "recommendation" and action == "change_target_date":
        events.append(
            ChangeEvent(
                "recommendation.target_date_changed",
                {
                    "previous_target_date": before.get("target_date"),
                    "target_date": after.get("target_date"),
                    "due_date": after.get("due_date"),
                },
            )
        )
    return events


def _status_changed(previous: str | None, status: str | None) -> ChangeEvent:
    return ChangeEvent("recommendation.status_changed", {"previous_status": previous, "status": status})


def wanted(event_type: str, wanted_types: list[str] | None) -> bool:
    return wanted_types is None or event_type in wanted_types
