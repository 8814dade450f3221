"""One recommendation as the API shows it, read in one query and encoded once.

Readers walk recommendations one by one, each asked for for the first time, so the detail is
computed far more often than it is answered from memory: its row, its status as of the day
asked about, its report's calendar, and its owners and citations come back in one row, the
owners and citations aggregated as JSON by the database. The figures are the ones every view
of a recommendation shows (``recommendations.public_view``).
"""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import itemgetter

from sqlalchemy import JSON, Connection, Select, bindparam, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from app.errors import NotFound
from app.models import Organisation, Recommendation, RecommendationCitation, RecommendationOwner, Report
from app.services import as_of as as_of_sql
from app.services.as_of import AsOf
from app.services.recommendations import public_view


class json_object(GenericFunction):  # noqa: N801 (an SQL function)
    """``json_object(key, value, ...)``: one JSON object (SQLite; PostgreSQL's json_build_object)."""

    type = JSON()
    name = "json_object"
    inherit_cache = True
    _register = False


class json_array_agg(GenericFunction):  # noqa: N801 (an SQL function)
    """The JSON array of a group's values, in no particular order (SQLite's json_group_array;
    PostgreSQL's json_agg); an empty group gives NULL on PostgreSQL, ``[]`` on SQLite."""

    type = JSON()
    name = "json_group_array"
    inherit_cache = True
    _register = False


@compiles(json_object, "postgresql")
def _json_build_object(element, compiler, **kw) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "postgresql")
def _json_agg(element, compiler, **kw) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


def json_fields(**fields) -> json_object:
    """``json_object`` of keyword arguments: the names are the keys."""
    return json_object(*(part for name, value in fields.items() for part in (name, value)))


def _detail_query(as_of: AsOf) -> Select:
    """The recommendation (by the ``recommendation_id`` parameter) with its status as of
    ``as_of``, its report's calendar, and its owners and citations as JSON arrays whose
    objects carry their ``position`` (owners) or ``id`` (citations) to be put in order."""
    owners = (
        select(
            json_array_agg(
                json_fields(
                    position=RecommendationOwner.position,
                    organisation_id=Organisation.id,
                    code=Organisation.code,
                    name=Organisation.name,
                    status=as_of_sql.owner_status(as_of),
                )
            )
        )
        .join(Organisation, Organisation.id == RecommendationOwner.organisation_id)
        .where(RecommendationOwner.recommendation_id == Recommendation.id)
        .scalar_subquery()
    )
    citations = (
        select(
            json_array_agg(
                json_fields(
                    id=RecommendationCitation.id,
                    paragraph=RecommendationCitation.paragraph,
                    section=RecommendationCitation.section,
                )
            )
        )
        .where(RecommendationCitation.recommendation_id == Recommendation.id)
        .scalar_subquery()
    )
    return (
        select(
            Recommendation.id,
            Recommendation.report_id,
            Recommendation.ref,
            Recommendation.text,
            Recommendation.section,
            Recommendation.target_date,
            Recommendation.original_target_date,
            Recommendation.due_date,
            Recommendation.version,
            Recommendation.created_at,
            Recommendation.updated_at,
            as_of_sql.recommendation_status(as_of).label("status_as_of"),
            Report.calendar,
            owners.label("owners"),
            citations.label("citations"),
        )
        .join(Report, Report.id == Recommendation.report_id)
        .where(Recommendation.id == bindparam("recommendation_id"))
    )


# For any day from today on, the stored statuses are the answer and the query does not depend
# on the day: built once. A past day reads the history, as of that day.
AS_OF_TODAY = _detail_query(AsOf(day=date.max, today=date.max, due_soon_working_days=0))


@lru_cache(maxsize=32)
def _as_of_past_day(as_of: AsOf) -> Select:
    # Building the statement costs several times what running it does: kept for the days asked about.
    return _detail_query(as_of)


def detail_statement(as_of: AsOf) -> Select:
    """The statement reading the detail as of ``as_of`` (parameter: ``recommendation_id``)."""
    return AS_OF_TODAY if as_of.is_current else _as_of_past_day(as_of)


@dataclass(frozen=True)
class Detail:
    """The recommendation's version (its ETag's) and its public view as JSON."""

    version: int
    body: bytes


def detail_of(row, recommendation_id: int, *, as_of: AsOf) -> Detail:
    """The detail from the row ``detail_statement(as_of)`` read; 404 when it read none."""
    if row is None:
        raise NotFound(f"Recommendation {recommendation_id} does not exist.")
    owners = sorted(row.owners or (), key=itemgetter("position"))
    citations = sorted(row.citations or (), key=itemgetter("id"))
    view = public_view(row, row.status_as_of, row.calendar, owners, citations, as_of)
    return Detail(row.version, view.__pydantic_serializer__.to_json(view))


def recommendation_detail(connection: Connection, recommendation_id: int, *, as_of: AsOf) -> Detail:
    statement = detail_statement(as_of)
    row = connection.execute(statement, {"recommendation_id": recommendation_id}).one_or_none()
    return detail_of(row, recommendation_id, as_of=as_of)
