"""The scope rules: which write moves which answers' tags."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import scopes
from app.domain.scopes import EVERYTHING, ORGANISATIONS, PORTFOLIO


@pytest.mark.parametrize(
    ("touched", "expected"),
    [
        (
            scopes.recommendation_change(recommendation_id=7, report_id=2, owner_ids=[3, 4]),
            {"recommendation:7", "report:2", "organisation:3", "organisation:4"},
        ),
        (scopes.recommendation_change(recommendation_id=7, report_id=2, owner_ids=[]), {"recommendation:7", "report:2"}),
        (
            scopes.report_change(report_id=2, recommendation_ids=[7, 8], organisation_ids=[3]),
            {"report:2", "recommendation:7", "recommendation:8", "organisation:3"},
        ),
        (scopes.organisation_change(3), {"organisation:3", ORGANISATIONS}),
        (scopes.unplaced_change("api_key"), set()),
        (scopes.unplaced_change("webhook_endpoint"), set()),
        (scopes.unplaced_change("webhook_delivery"), set()),
        (scopes.unplaced_change("something_new"), {EVERYTHING}),
    ],
)
def test_what_each_write_touches(touched, expected):
    assert touched == expected


NAMES = st.sampled_from(["report:1", "report:2", "organisation:1", "recommendation:1", ORGANISATIONS, EVERYTHING])


@given(
    versions=st.dictionaries(NAMES, st.integers(0, 1000)),
    read=st.frozensets(NAMES | st.just(PORTFOLIO), min_size=1),
    touched=st.frozensets(NAMES),
)
def test_a_tag_moves_exactly_when_a_write_touches_what_the_answer_reads(versions, read, touched):
    counter = max([0, *versions.values()])
    before = scopes.answer_version(read, versions, counter)
    # The write's audit event is newer than any: its id becomes the touched scopes' version.
    event = counter + 1
    after = scopes.answer_version(read, {**versions, **dict.fromkeys(touched, event)}, event)
    moved = PORTFOLIO in read or bool(touched & (read | {EVERYTHING}))
    assert (after != before) == moved
    assert after >= before


@given(versions=st.dictionaries(NAMES, st.integers(0, 1000)), read=st.frozensets(NAMES, min_size=1))
def test_a_scope_never_touched_is_as_new_as_everything(versions, read):
    floor = versions.get(EVERYTHING, 0)
    assert scopes.answer_version(read, versions, 10**6) >= floor
