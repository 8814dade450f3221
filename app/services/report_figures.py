"""Each report's part of the portfolio summary as of today or later: its action plan's state and
its recommendations by status and RAG colour, from the stored (current) statuses and due dates,
kept per process (``app.services.kept_parts``) so that after a write the summary reads again
only the report it touched."""

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, Select, bindparam, func, select

from app.models import Recommendation, Report
from app.services import as_of as sql
from app.services.as_of import AsOf
from app.services.kept_parts import KeptParts

_ACTION_PLAN = "action_plan"
_RECOMMENDATIONS = "recommendations"


@dataclass(frozen=True)
class ReportFigures:
    action_plan: str  # the state of its action plan
    recommendations: tuple[tuple[str, str, int], ...]  # (status, RAG colour, how many)


def tally(figures: ReportFigures) -> Counter:
    """What the report adds to the portfolio's figures."""
    added = Counter({(_ACTION_PLAN, figures.action_plan): 1})
    for status, colour, n in figures.recommendations:
        added[_RECOMMENDATIONS, status, colour] += n
    return added


@dataclass(frozen=True)
class PortfolioFigures:
    reports: int
    action_plans: dict[str, int]  # reports by their action plan's state
    recommendations: list[tuple[str, str, int]]  # (status, RAG colour, how many)


def summed(total: Counter, reports: int) -> PortfolioFigures:
    """The portfolio's figures from the sum of its ``reports`` reports' tallies."""
    action_plans = {key[1]: n for key, n in total.items() if key[0] == _ACTION_PLAN}
    recommendations = [(key[1], key[2], n) for key, n in total.items() if key[0] == _RECOMMENDATIONS]
    return PortfolioFigures(reports, action_plans, recommendations)


@lru_cache(maxsize=32)
def _queries(as_of: AsOf, some: bool) -> tuple[Select, Select]:
    """The two statements for a day, built once per day asked about (their as-of CASEs cost
    more to build and key than to run); ``some``: of the reports ``ids`` only."""
    colour = sql.rag(as_of, Recommendation.status).label("rag")
    counts = (
        select(Recommendation.report_id, Recommendation.status, colour, func.count())
        .join(Report, Report.id == Recommendation.report_id)
        .group_by(Recommendation.report_id, Recommendation.status, colour)
    )
    plans = select(Report.id, sql.action_plan_state(as_of))
    if some:
        ids = bindparam("ids", expanding=True)
        counts, plans = counts.where(Recommendation.report_id.in_(ids)), plans.where(Report.id.in_(ids))
    return plans, counts


def read(
    connection: Connection, as_of: AsOf, report_ids: Collection[int] | None = None
) -> dict[int, ReportFigures]:
    """The figures as of ``as_of`` (today or later) of the reports named, or of every one, by id."""
    plans, counts = _queries(as_of, report_ids is not None)
    parameters = {} if report_ids is None else {"ids": list(report_ids)}
    by_report: dict[int, list] = {}
    for report_id, status, colour, n in connection.execute(counts, parameters):
        by_report.setdefault(report_id, []).append((str(status), str(colour), n))
    return {
        report_id: ReportFigures(str(state), tuple(sorted(by_report.get(report_id, ()))))
        for report_id, state in connection.execute(plans, parameters)
    }


def kept_figures() -> KeptParts[ReportFigures]:
    """Every report's figures, kept between portfolio summaries, with their sum."""
    return KeptParts("report", read, tally=tally)
