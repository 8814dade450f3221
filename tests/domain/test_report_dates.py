from datetime import date

import pytest

from app.domain.report_dates import review_began, target_date_problem, years_after


@pytest.mark.parametrize(
    ("start", "published", "received", "began"),
    [
        (date(2018, 1, 22), date(2018, 5, 4), date(2018, 5, 4), date(2018, 1, 22)),
        (None, date(2018, 5, 4), date(2018, 5, 8), date(2018, 5, 4)),
        (None, None, date(2018, 5, 8), date(2018, 5, 8)),
        (None, None, None, None),
    ],
)
def test_a_reports_life_begins_with_its_review(start, published, received, began):
    assert review_began(start, published, received) == began


def test_the_horizon_counts_whole_years_from_receipt():
    assert years_after(date(2020, 2, 29), 1) == date(2021, 2, 28)
    received = date(2018, 5, 4)
    assert target_date_problem(date(2028, 5, 4), began=None, received=received, horizon_years=10) is None
    assert "10 years" in target_date_problem(
        date(2028, 5, 5), began=None, received=received, horizon_years=10
    )
    assert "before the review" in target_date_problem(
        date(2017, 1, 1), began=date(2018, 1, 1), received=received, horizon_years=10
    )
