"""What each cached answer reads, as scopes (``app.domain.scopes``), from its URL alone.

SharedAnswerMiddleware tags an answer before routing, so nothing here queries: a scope comes
from a path or query parameter, and where the URL does not pin the answer down (an id that is
no id, a list across reports) the answer reads PORTFOLIO, which every write moves.
"""

from collections.abc import Callable, Mapping

from starlette.datastructures import QueryParams

from app.domain import scopes
from app.domain.bounds import as_id

AnswerScopes = Callable[[Mapping[str, str], QueryParams], frozenset[str]]

_PORTFOLIO = frozenset({scopes.PORTFOLIO})


def portfolio(_path: Mapping[str, str], _query: QueryParams) -> frozenset[str]:
    """Anything at all: the whole portfolio's figures, every report's, every key's."""
    return _PORTFOLIO


def organisation_directory(_path: Mapping[str, str], _query: QueryParams) -> frozenset[str]:
    """The organisations' own fields only."""
    return frozenset({scopes.ORGANISATIONS})


def organisation(path: Mapping[str, str], _query: QueryParams) -> frozenset[str]:
    """One organisation's own fields and what it owns or owes."""
    organisation_id = as_id(path.get("organisation_id", ""))
    return _PORTFOLIO if organisation_id is None else frozenset({scopes.organisation(organisation_id)})


def report(path: Mapping[str, str], _query: QueryParams) -> frozenset[str]:
    """One report, its recommendations, and the codes and names of their owners."""
    return _report(path.get("report_id", ""))


def report_in_query(_path: Mapping[str, str], query: QueryParams) -> frozenset[str]:
    """Recommendations across reports, or of the one report the query names."""
    asked = query.getlist("report_id")
    return _report(asked[0]) if len(asked) == 1 else _PORTFOLIO


def recommendation(path: Mapping[str, str], _query: QueryParams) -> frozenset[str]:
    """One recommendation (and what hangs under it), with its owners' codes and names."""
    recommendation_id = as_id(path.get("recommendation_id", ""))
    if recommendation_id is None:
        return _PORTFOLIO
    return frozenset({scopes.recommendation(recommendation_id), scopes.ORGANISATIONS})


def _report(text: str) -> frozenset[str]:
    report_id = as_id(text)
    return _PORTFOLIO if report_id is None else frozenset({scopes.report(report_id), scopes.ORGANISATIONS})
