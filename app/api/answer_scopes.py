"""What each cached answer reads, as scopes (``app.domain.scopes``), from its URL and whether
the date asked for is current (today or later) alone.

SharedAnswerMiddleware tags an answer before routing, so nothing here queries: a scope comes
from a path or query parameter, and where the URL does not pin the answer down (an id that is
no id) the answer reads PORTFOLIO, which every write moves. A list across reports as of a
current date reads ``LISTED`` too: the scopes of what it lists, known once it is computed.
"""

from collections.abc import Callable, Mapping

from starlette.datastructures import QueryParams

from app.domain import scopes
from app.domain.bounds import as_id

# (path parameters, query parameters, whether the date asked for is current) -> scopes read
AnswerScopes = Callable[[Mapping[str, str], QueryParams, bool], frozenset[str]]

_PORTFOLIO = frozenset({scopes.PORTFOLIO})


def portfolio(_path: Mapping[str, str], _query: QueryParams, _current: bool) -> frozenset[str]:
    """Anything at all: every report's, every key's."""
    return _PORTFOLIO


def portfolio_figures(_path: Mapping[str, str], _query: QueryParams, current: bool) -> frozenset[str]:
    """The whole portfolio's figures: the current ones, or (as of a past day) its history."""
    return scopes.portfolio_figures(current=current)


def organisation_directory(_path: Mapping[str, str], _query: QueryParams, _current: bool) -> frozenset[str]:
    """The organisations' own fields only."""
    return frozenset({scopes.ORGANISATIONS})


def organisation_summary(path: Mapping[str, str], _query: QueryParams, current: bool) -> frozenset[str]:
    """One organisation's own fields and the figures of what it owns or owes."""
    organisation_id = as_id(path.get("organisation_id", ""))
    if organisation_id is None:
        return _PORTFOLIO
    return scopes.organisation_summary(organisation_id, current=current)


def report(path: Mapping[str, str], _query: QueryParams, _current: bool) -> frozenset[str]:
    """One report, its recommendations, and the codes and names of their owners."""
    return _report(path.get("report_id", ""))


def report_summary(path: Mapping[str, str], _query: QueryParams, current: bool) -> frozenset[str]:
    """One report's figures, and the codes and names of their owners."""
    report_id = as_id(path.get("report_id", ""))
    return _PORTFOLIO if report_id is None else scopes.report_summary(report_id, current=current)


def report_in_query(_path: Mapping[str, str], query: QueryParams, current: bool) -> frozenset[str]:
    """Recommendations of the one report the query names, or across reports."""
    asked = query.getlist("report_id")
    if len(asked) == 1:
        return _report(asked[0])
    if asked:
        return _PORTFOLIO
    by_status = bool(query.getlist("status") or query.getlist("rag"))
    return scopes.across_reports(current=current, by_status=by_status)


def recommendation(path: Mapping[str, str], _query: QueryParams, _current: bool) -> frozenset[str]:
    """One recommendation (and what hangs under it), with its owners' codes and names."""
    recommendation_id = as_id(path.get("recommendation_id", ""))
    if recommendation_id is None:
        return _PORTFOLIO
    return frozenset({scopes.recommendation(recommendation_id), scopes.ORGANISATIONS})


def _report(text: str) -> frozenset[str]:
    report_id = as_id(text)
    return _PORTFOLIO if report_id is None else frozenset({scopes.report(report_id), scopes.ORGANISATIONS})
