"""Statuses and how they roll up.

Each owning organisation moves ``not_started -> in_progress -> implemented``.
A recommendation's status is its least advanced owner's, until an assurer
marks it ``verified`` or ``closed_not_implemented`` (both terminal).
"""

from collections.abc import Callable, Iterable
from enum import StrEnum


class OwnerStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"


class Status(StrEnum):
    """A recommendation's status."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"
    CLOSED_NOT_IMPLEMENTED = "closed_not_implemented"


OWNER_STATUS_ORDER: tuple[OwnerStatus, ...] = tuple(OwnerStatus)
TERMINAL_STATUSES = frozenset({Status.VERIFIED, Status.CLOSED_NOT_IMPLEMENTED})
DONE_STATUSES = frozenset({Status.IMPLEMENTED, *TERMINAL_STATUSES})

OWNER_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in OwnerStatus)
RECOMMENDATION_STATUSES_SQL = ", ".join(f"'{s.value}'" for s in Status)


def owner_status_rank(status: OwnerStatus | str) -> int:
    return OWNER_STATUS_ORDER.index(OwnerStatus(status))


def roll_up(owner_statuses: Iterable[OwnerStatus | str]) -> Status:
    """The least advanced owner's status; ``not_started`` when there is no owner."""
    ranks = [owner_status_rank(s) for s in owner_statuses]
    if not ranks:
        return Status.NOT_STARTED
    return Status(OWNER_STATUS_ORDER[min(ranks)].value)


def evidence_required(new_status: OwnerStatus | str, owner_evidence_count: Callable[[], int]) -> bool:
    """True when moving to ``new_status`` needs evidence the owner has not given.

    The evidence is counted only for a status that needs it."""
    return OwnerStatus(new_status) is OwnerStatus.IMPLEMENTED and owner_evidence_count() < 1
