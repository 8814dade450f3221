"""Scopes: which cached answers a write can change, and so must stop being served.

A scope names a part of what the API shows. Every write records the scopes it touches, and
every cached answer (and the weak ETag of a list or summary) is tagged with the scopes it
reads: an answer is current while none of them has moved since it was computed. A write on
one recommendation therefore leaves the answers about other reports, organisations and
recommendations alone.

A scope's version is the id of the newest audit event of a write that touched it. Audit ids
grow in commit order, so a touched scope's new version is larger than every version already
stored, and the largest version among an answer's scopes changes whenever any of them moves:
that one number is the answer's tag.

The rules, all here:

- ``PORTFOLIO``: every write. Its version is simply the newest audit event id (the change
  counter); an answer that may read anything depends on it.
- ``EVERYTHING``: a write this module cannot place (an entity it does not know). Every answer
  depends on it, whatever else it declares.
- ``FIGURES``, the current figures: what a summary as of today or later counts (each
  recommendation's status, effective due date and report calendar, each owner's status; the
  reports, their action-plan dates and calendars), which is also all that decides which
  recommendations a list across reports as of today or later holds, and in which order
  (statuses, due dates, calendars, owners, reports and positions). Every report change and
  every recommendation change touch it, except a change the writer knows moved no count (a
  progress update that leaves every status as it was: ``counts_moved=False``).
- ``DEADLINES``, the part of the current figures a list filtered by neither status nor RAG
  selects and orders by: which recommendations there are and which are done (implemented,
  verified or closed), their due dates, owners, reports and positions. It moves with
  FIGURES, except on a progress update that leaves the recommendation as done or as open
  as it was (``progress_change``): from not started to in progress, say.
- A report's or an organisation's current figures (``report_figures``, ``organisation_figures``):
  the part of FIGURES its own summary as of today or later counts. They move with FIGURES,
  for the report and the organisations the write places it in.
- A recommendation (its rows, owners' statuses, progress, evidence, decisions, target dates):
  the recommendation, its report, and each organisation owning it (before and after the write);
  their current figures too, unless the writer knows the change moved no count.
- A report (its fields, deadline, action-plan organisations): the report, each of its
  recommendations (their due dates and working-day figures follow it), each organisation
  owning one of them, each organisation its action plan is required from (before and after);
  the current figures of the report and of each of those organisations.
- An organisation (created or changed): the organisation, and ``ORGANISATIONS``, which every
  answer embedding organisation codes or names depends on.
- API keys and webhook endpoints and deliveries: no shared answer shows them; only PORTFOLIO.

What an answer reads:

- The portfolio summary as of today or later: ``FIGURES`` and ``ORGANISATIONS`` (their codes
  and names); as of a past day, ``PORTFOLIO`` (history: a backdated update changes it while
  no current figure moves).
- A report's or an organisation's summary as of today or later: its current figures and
  ``ORGANISATIONS``; as of a past day, the report (and ``ORGANISATIONS``) or the organisation,
  which every progress update on its recommendations moves, a backdated one included. So a
  progress update that restates a status leaves the summaries dashboards poll as they were.
- A list across reports as of today or later: which items, and in which order, follows
  ``FIGURES`` (``DEADLINES`` when it filters by neither status nor RAG: overdue or not,
  a due date, an owner) and ``ORGANISATIONS`` (an owner named by code), but each item shows its own
  recommendation's fields (``updated_at`` moves on every progress update). So it reads
  ``LISTED`` as well: the scopes of the recommendations it lists, known once it is computed
  (``listing``). Such an answer is kept only when none of its scopes, read after computing,
  is newer than the change counter read before (``listed_tag``): nothing it read can then have
  changed while it was computed, and its tag, the largest version among them, is the same
  in every worker process for the same state.
"""

from collections.abc import Iterable

from app.domain.status import DONE_STATUSES, Status

PORTFOLIO = "portfolio"
EVERYTHING = "everything"
ORGANISATIONS = "organisations"
FIGURES = "figures"
DEADLINES = "deadlines"
# Not a scope a write touches: "and the scopes of the recommendations the answer lists".
LISTED = "listed"

# What no cached answer embeds: their writes move PORTFOLIO only.
CONTENT_FREE_ENTITIES = frozenset({"api_key", "webhook_endpoint", "webhook_delivery"})

Scopes = frozenset[str]


def report(report_id: int) -> str:
    return f"report:{report_id}"


def organisation(organisation_id: int) -> str:
    return f"organisation:{organisation_id}"


def recommendation(recommendation_id: int) -> str:
    return f"recommendation:{recommendation_id}"


_FIGURES_OF = "figures:"


def report_figures(report_id: int) -> str:
    return f"{_FIGURES_OF}report:{report_id}"


def organisation_figures(organisation_id: int) -> str:
    return f"{_FIGURES_OF}organisation:{organisation_id}"


def figures_of(scope: str) -> tuple[str, int] | None:
    """Whose current figures ``scope`` names: ("report", id) or ("organisation", id); None
    for any other scope."""
    if not scope.startswith(_FIGURES_OF):
        return None
    kind, _, number = scope[len(_FIGURES_OF) :].partition(":")
    return (kind, int(number)) if number.isdecimal() else None


def recommendation_change(
    *,
    recommendation_id: int,
    report_id: int,
    owner_ids: Iterable[int],
    counts_moved: bool = True,
    done_moved: bool = True,
) -> Scopes:
    """``counts_moved=False`` only from a writer that knows the change moved no count (no tally),
    ``done_moved=False`` from one that knows it changed no due date, owner or position and
    left the recommendation as done or as open as it was."""
    owner_ids = frozenset(owner_ids)
    return frozenset(
        {
            recommendation(recommendation_id),
            report(report_id),
            *(organisation(o) for o in owner_ids),
            *(_figures(report_id, owner_ids) if counts_moved else []),
            *([DEADLINES] if counts_moved and done_moved else []),
        }
    )


def _figures(report_id: int, organisation_ids: Iterable[int]) -> Scopes:
    """The current figures, the report's and the organisations'."""
    return frozenset(
        {FIGURES, report_figures(report_id), *(organisation_figures(o) for o in organisation_ids)}
    )


def progress_change(
    *,
    recommendation_id: int,
    report_id: int,
    owner_ids: Iterable[int],
    counts_moved: bool,
    status_before: Status | str,
    status_after: Status | str,
) -> Scopes:
    """A progress update: it changes statuses only, so the deadlines move only when the
    recommendation becomes done or open again."""
    done_moved = (Status(status_before) in DONE_STATUSES) != (Status(status_after) in DONE_STATUSES)
    return recommendation_change(
        recommendation_id=recommendation_id,
        report_id=report_id,
        owner_ids=owner_ids,
        counts_moved=counts_moved,
        done_moved=done_moved,
    )


def report_change(
    *, report_id: int, recommendation_ids: Iterable[int], organisation_ids: Iterable[int]
) -> Scopes:
    """``organisation_ids``: those owning any of its recommendations or due its action plan."""
    organisation_ids = frozenset(organisation_ids)
    return frozenset(
        {
            *_figures(report_id, organisation_ids),
            DEADLINES,
            report(report_id),
            *(recommendation(r) for r in recommendation_ids),
            *(organisation(o) for o in organisation_ids),
        }
    )


def organisation_change(organisation_id: int) -> Scopes:
    return frozenset({organisation(organisation_id), ORGANISATIONS})


def unplaced_change(entity: str) -> Scopes:
    """The scopes of a write whose caller named none: nothing beyond PORTFOLIO for what no
    cached answer embeds, else everything (never a stale answer for a write not placed here)."""
    return frozenset() if entity in CONTENT_FREE_ENTITIES else frozenset({EVERYTHING})


def answer_version(scopes: Iterable[str], versions: dict[str, int], counter: int) -> int:
    """The tag of an answer reading ``scopes``: the largest of their versions (a scope never
    touched has EVERYTHING's), or ``counter`` (the newest audit id) when it reads PORTFOLIO."""
    scopes = set(scopes)
    if PORTFOLIO in scopes:
        return counter
    floor = versions.get(EVERYTHING, 0)
    return max([floor, *(versions.get(scope, floor) for scope in scopes)])


def portfolio_figures(*, current: bool) -> Scopes:
    """What the portfolio summary reads, as of today or later (``current``) or a past day."""
    return frozenset({FIGURES, ORGANISATIONS}) if current else frozenset({PORTFOLIO})


def report_summary(report_id: int, *, current: bool) -> Scopes:
    """What a report's summary reads, as of today or later (``current``) or a past day."""
    own = report_figures(report_id) if current else report(report_id)
    return frozenset({own, ORGANISATIONS})


def organisation_summary(organisation_id: int, *, current: bool) -> Scopes:
    """What an organisation's summary reads, as of today or later (``current``: its code and name
    move ORGANISATIONS) or a past day."""
    if current:
        return frozenset({organisation_figures(organisation_id), ORGANISATIONS})
    return frozenset({organisation(organisation_id)})


def across_reports(*, current: bool, by_status: bool) -> Scopes:
    """What a list of recommendations across reports reads, as of today or later or a past day;
    ``by_status`` when it is filtered by status or RAG colour."""
    if not current:
        return frozenset({PORTFOLIO})
    return frozenset({FIGURES if by_status else DEADLINES, ORGANISATIONS, LISTED})


def listing(answer_scopes: Iterable[str], recommendation_ids: Iterable[int]) -> Scopes:
    """What an answer reading ``LISTED`` reads once it lists ``recommendation_ids``."""
    return frozenset({*(set(answer_scopes) - {LISTED}), *(recommendation(r) for r in recommendation_ids)})


def listed_tag(version: int, counter_before: int) -> int | None:
    """The tag of a listed answer whose scopes, read after computing it, have ``version``
    (``answer_version``), when the change counter read before computing it was
    ``counter_before``; None when a write touched them meanwhile: the answer may be older or
    newer than that write, so no tag names it."""
    return version if version <= counter_before else None
