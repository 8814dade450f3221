"""Every enumeration of the domain, the statuses and how they move.

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


class Role(StrEnum):  # what an API key may do: app.domain.access
    ADMIN = "admin"
    ASSURER = "assurer"
    EDITOR = "editor"
    VIEWER = "viewer"


class OrganisationKind(StrEnum):
    NHS_TRUST = "nhs_trust"
    FOUNDATION_TRUST = "foundation_trust"
    CCG = "ccg"
    NHS_ENGLAND_REGION = "nhs_england_region"
    COMMUNITY_INTEREST_COMPANY = "community_interest_company"
    LOCAL_AUTHORITY = "local_authority"
    CHARITY = "charity"
    OTHER = "other"


class DecisionKind(StrEnum):
    VERIFIED = "verified"
    CLOSED_NOT_IMPLEMENTED = "closed_not_implemented"
    REOPENED = "reopened"


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


class DecisionRefused(Exception):
    """An assurer's decision that the recommendation's status does not allow."""

    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def status_after_decision(
    ref: str, current: Status, decision: DecisionKind, owner_statuses: Iterable[OwnerStatus | str]
) -> Status:
    """The status an assurer's decision moves a recommendation to.

    Verifying needs every owner to have implemented it; verifying or closing needs it
    open; reopening needs it verified or closed, and brings back its owners' roll-up."""
    match decision:
        case DecisionKind.REOPENED:
            if current not in TERMINAL_STATUSES:
                raise DecisionRefused(f"Recommendation {ref} is {current}, not verified or closed.")
            return roll_up(owner_statuses)
        case _ if current in TERMINAL_STATUSES:
            raise DecisionRefused(
                f"Recommendation {ref} is already {current}; reopen it first.", "recommendation_closed"
            )
        case DecisionKind.VERIFIED if current is not Status.IMPLEMENTED:
            raise DecisionRefused(
                f"Recommendation {ref} can be verified only when every owner has "
                f"implemented it; it is {current}.",
                "not_implemented",
            )
        case _:
            return Status(decision)
