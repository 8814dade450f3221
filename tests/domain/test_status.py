import pytest

from app.domain.status import OwnerStatus, Status, evidence_required, roll_up

N, P, I = OwnerStatus.NOT_STARTED, OwnerStatus.IN_PROGRESS, OwnerStatus.IMPLEMENTED


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        ([], Status.NOT_STARTED),
        ([N], Status.NOT_STARTED),
        ([P], Status.IN_PROGRESS),
        ([I], Status.IMPLEMENTED),
        ([I, I, I], Status.IMPLEMENTED),
        ([I, P, I], Status.IN_PROGRESS),
        ([P, I], Status.IN_PROGRESS),
        ([I, N], Status.NOT_STARTED),
        ([N, P, I], Status.NOT_STARTED),
        (["in_progress", "implemented"], Status.IN_PROGRESS),
    ],
)
def test_the_least_advanced_owner_wins(owners, expected):
    assert roll_up(owners) is expected


@pytest.mark.parametrize(
    ("new_status", "evidence", "required"),
    [
        (I, 0, True),
        (I, 1, False),
        (I, 5, False),
        (P, 0, False),
        (N, 0, False),
        ("implemented", 0, True),
    ],
)
def test_implemented_needs_the_owners_own_evidence(new_status, evidence, required):
    counted = []

    def count() -> int:
        counted.append(evidence)
        return evidence

    assert evidence_required(new_status, count) is required
    assert bool(counted) == (OwnerStatus(new_status) is OwnerStatus.IMPLEMENTED)  # counted only then


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        roll_up(["done"])
