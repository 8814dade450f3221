"""The scope rules: which write moves which answers' tags."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import scopes
from app.domain.scopes import DEADLINES, EVERYTHING, FIGURES, LISTED, ORGANISATIONS, PORTFOLIO


@pytest.mark.parametrize(
    ("touched", "expected"),
    [
        (
            scopes.recommendation_change(recommendation_id=7, report_id=2, owner_ids=[3, 4]),
            {"recommendation:7", "report:2", "organisation:3", "organisation:4", FIGURES, DEADLINES}
            | {"figures:report:2", "figures:organisation:3", "figures:organisation:4"},
        ),
        (
            scopes.recommendation_change(recommendation_id=7, report_id=2, owner_ids=[]),
            {"recommendation:7", "report:2", FIGURES, DEADLINES, "figures:report:2"},
        ),
        (
            scopes.recommendation_change(recommendation_id=7, report_id=2, owner_ids=[3], counts_moved=False),
            {"recommendation:7", "report:2", "organisation:3"},
        ),
        (
            scopes.report_change(report_id=2, recommendation_ids=[7, 8], organisation_ids=[3]),
            {"report:2", "recommendation:7", "recommendation:8", "organisation:3", FIGURES, DEADLINES}
            | {"figures:report:2", "figures:organisation:3"},
        ),
        (
            scopes.report_change(report_id=2, recommendation_ids=[], organisation_ids=[]),
            {"report:2", FIGURES, DEADLINES, "figures:report:2"},
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


NAMES = st.sampled_from(
    [
        "report:1",
        "report:2",
        "organisation:1",
        "recommendation:1",
        "figures:report:1",
        "figures:organisation:1",
        ORGANISATIONS,
        FIGURES,
        DEADLINES,
        EVERYTHING,
    ]
)


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


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (scopes.portfolio_figures(current=True), {FIGURES, ORGANISATIONS}),
        (scopes.portfolio_figures(current=False), {PORTFOLIO}),
        (scopes.across_reports(current=True, by_status=True), {FIGURES, ORGANISATIONS, LISTED}),
        (scopes.across_reports(current=True, by_status=False), {DEADLINES, ORGANISATIONS, LISTED}),
        (scopes.across_reports(current=False, by_status=True), {PORTFOLIO}),
        (scopes.across_reports(current=False, by_status=False), {PORTFOLIO}),
        (
            scopes.listing({FIGURES, ORGANISATIONS, LISTED}, [4, 9]),
            {FIGURES, ORGANISATIONS, "recommendation:4", "recommendation:9"},
        ),
        (scopes.listing({FIGURES, ORGANISATIONS, LISTED}, []), {FIGURES, ORGANISATIONS}),
        (scopes.report_summary(2, current=True), {"figures:report:2", ORGANISATIONS}),
        (scopes.report_summary(2, current=False), {"report:2", ORGANISATIONS}),
        (scopes.organisation_summary(3, current=True), {"figures:organisation:3", ORGANISATIONS}),
        (scopes.organisation_summary(3, current=False), {"organisation:3"}),
    ],
)
def test_what_each_answer_reads(read, expected):
    assert read == expected


SUMMARIES = {
    "portfolio": scopes.portfolio_figures,
    "report": lambda *, current: scopes.report_summary(2, current=current),
    "organisation": lambda *, current: scopes.organisation_summary(3, current=current),
}


@pytest.mark.parametrize("summary", SUMMARIES.values(), ids=SUMMARIES.keys())
def test_a_count_neutral_progress_update_leaves_the_current_figures_but_not_the_past(summary):
    neutral = scopes.recommendation_change(
        recommendation_id=7, report_id=2, owner_ids=[3], counts_moved=False
    )
    current = summary(current=True)
    assert not neutral & current
    versions = dict.fromkeys(current, 5)
    after = {**versions, **dict.fromkeys(neutral, 9)}
    assert scopes.answer_version(current, after, 9) == scopes.answer_version(current, versions, 8) == 5
    past = summary(current=False)
    assert scopes.answer_version(past, after, 9) != scopes.answer_version(past, versions, 8)


@given(
    counts_moved=st.booleans(),
    report_id=st.integers(1, 3),
    owners=st.frozensets(st.integers(1, 3)),
    other=st.integers(1, 3),
)
def test_a_write_that_moves_a_count_moves_the_current_summaries_it_is_counted_in(
    counts_moved, report_id, owners, other
):
    """And no other report's or organisation's: the figures of a summary as of today move
    exactly when the write moves a count it counts."""
    touched = scopes.recommendation_change(
        recommendation_id=1, report_id=report_id, owner_ids=owners, counts_moved=counts_moved
    )
    assert bool(touched & scopes.report_summary(other, current=True)) == (counts_moved and other == report_id)
    assert bool(touched & scopes.organisation_summary(other, current=True)) == (
        counts_moved and other in owners
    )
    assert (FIGURES in touched) == counts_moved


@pytest.mark.parametrize(
    ("version", "counter_before", "tag"),
    [
        (40, 50, 40),  # nothing it read moved since before it was computed
        (50, 50, 50),  # the newest write touched it, and was committed before
        (51, 50, None),  # a write touched it while it was computed
    ],
)
def test_a_listed_answer_is_tagged_only_if_nothing_it_read_moved_while_computed(version, counter_before, tag):
    assert scopes.listed_tag(version, counter_before) == tag


LISTED_IDS = st.frozensets(st.integers(1, 4))
RECOMMENDATIONS = [f"recommendation:{i}" for i in range(1, 5)]


@given(
    versions=st.dictionaries(
        st.sampled_from([FIGURES, ORGANISATIONS, EVERYTHING, *RECOMMENDATIONS]), st.integers(0, 100)
    ),
    listed=LISTED_IDS,
    touched=st.frozensets(st.sampled_from([FIGURES, ORGANISATIONS, EVERYTHING, *RECOMMENDATIONS])),
)
def test_a_listed_answer_tag_moves_exactly_when_what_it_read_moves(versions, listed, touched):
    """Tags of listed answers are versions: a write after it moves the tag iff it touched one of
    its scopes, and a tag never goes back."""
    read = scopes.listing(scopes.across_reports(current=True, by_status=True), listed)
    counter = max([0, *versions.values()])
    before = scopes.listed_tag(scopes.answer_version(read, versions, counter), counter)
    assert before is not None
    event = counter + 1
    after_versions = {**versions, **dict.fromkeys(touched, event)}
    after = scopes.listed_tag(scopes.answer_version(read, after_versions, event), event)
    assert (after != before) == bool(touched & (read | {EVERYTHING}))
    assert after >= before
    # Read after a write it did not see, the same answer gets no tag at all.
    if touched & (read | {EVERYTHING}):
        assert scopes.listed_tag(scopes.answer_version(read, after_versions, event), counter) is None


RECOMMENDATION = {"recommendation:7", "report:2", "organisation:3"}
MOVED = {FIGURES, "figures:report:2", "figures:organisation:3"}


@pytest.mark.parametrize(
    ("counts_moved", "before", "after", "expected"),
    [
        (False, "in_progress", "in_progress", RECOMMENDATION),  # a status restated
        (True, "not_started", "not_started", RECOMMENDATION | MOVED),  # another owner's moved
        (True, "not_started", "in_progress", RECOMMENDATION | MOVED),  # still open
        (True, "in_progress", "implemented", RECOMMENDATION | MOVED | {DEADLINES}),  # done
        (True, "implemented", "in_progress", RECOMMENDATION | MOVED | {DEADLINES}),  # open again
    ],
)
def test_what_a_progress_update_touches(counts_moved, before, after, expected):
    touched = scopes.progress_change(
        recommendation_id=7,
        report_id=2,
        owner_ids=[3],
        counts_moved=counts_moved,
        status_before=before,
        status_after=after,
    )
    assert touched == expected


@given(
    counts_moved=st.booleans(),
    done_moved=st.booleans(),
    owners=st.frozensets(st.integers(1, 5)),
)
def test_whatever_moves_the_deadlines_moves_the_figures(counts_moved, done_moved, owners):
    touched = scopes.recommendation_change(
        recommendation_id=1, report_id=1, owner_ids=owners, counts_moved=counts_moved, done_moved=done_moved
    )
    assert DEADLINES not in touched or FIGURES in touched


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (scopes.report_figures(12), ("report", 12)),
        (scopes.organisation_figures(3), ("organisation", 3)),
        (FIGURES, None),
        (scopes.report(12), None),
        (scopes.organisation(3), None),
        (scopes.recommendation(7), None),
        (EVERYTHING, None),
        ("figures:report:", None),
        ("figures:report:x1", None),
    ],
)
def test_whose_current_figures_a_scope_names(scope, expected):
    assert scopes.figures_of(scope) == expected


@given(st.sampled_from(["report", "organisation"]), st.integers(min_value=1, max_value=2**62))
def test_the_figures_named_are_those_of_the_scope_made(kind, number):
    made = scopes.report_figures(number) if kind == "report" else scopes.organisation_figures(number)
    assert scopes.figures_of(made) == (kind, number)
