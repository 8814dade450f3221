"""What one recommendation adds to the tallies the current summaries are summed from.

A summary as of today or later needs, of each recommendation, only its status, its effective
due date and its report's calendar (for RAG), and of each owner only its status, whether it
is still answerable (not implemented, on a recommendation not verified or closed) and that
due date (for ``overdue``). So three tallies count recommendations and owners by exactly
those keys; a write changes them by what the rows it touched added before and add after.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.domain.status import TERMINAL_STATUSES, OwnerStatus, Status


class Tally(StrEnum):
    RECOMMENDATION = "recommendation_tally"  # (calendar, status, due_date)
    OWNER_STATUS = "owner_status_tally"  # (organisation_id, owner_status)
    OWNER_DUE = "owner_due_tally"  # (organisation_id, due_date), answerable owners only


@dataclass(frozen=True)
class RecommendationState:
    calendar: str
    status: Status | str
    due_date: date
    owners: tuple[tuple[int, OwnerStatus | str], ...]  # (organisation id, owner status)


Counts = Counter[tuple[Tally, tuple]]


def owner_answerable(owner_status: OwnerStatus | str, status: Status | str) -> bool:
    """An owner counts as overdue once the due date passes, while this holds."""
    implemented = OwnerStatus(owner_status) is OwnerStatus.IMPLEMENTED
    return not implemented and Status(status) not in TERMINAL_STATUSES


def contribution(state: RecommendationState) -> Counts:
    counts: Counts = Counter()
    counts[Tally.RECOMMENDATION, (state.calendar, str(state.status), state.due_date)] += 1
    for organisation_id, owner_status in state.owners:
        counts[Tally.OWNER_STATUS, (organisation_id, str(owner_status))] += 1
        if owner_answerable(owner_status, state.status):
            counts[Tally.OWNER_DUE, (organisation_id, state.due_date)] += 1
    return counts


def change(before: Iterable[RecommendationState], after: Iterable[RecommendationState]) -> Counts:
    """What the tallies gain (positive) and lose (negative) when the recommendations in
    ``before`` become those in ``after`` (a created one is only in ``after``, a deleted one
    only in ``before``); keys that do not move are left out."""
    delta: Counts = Counter()
    for state in after:
        delta.update(contribution(state))
    for state in before:
        delta.subtract(contribution(state))
    return Counter({key: n for key, n in delta.items() if n})
