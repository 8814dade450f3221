"""Dependencies the routes share: session, clock, settings and get-or-404 lookups."""

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine
from sqlmodel import Session

from app.clock import Clock
from app.config import Settings
from app.db import WRITE_OPTION
from app.models import Organisation, Recommendation, Report
from app.schemas.common import Day
from app.services import organisations, recommendations, reports
from app.services.as_of import AsOf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One session, one connection and one transaction per request."""
    with engine.connect() as connection:
        if request.method not in SAFE_METHODS:
            connection = connection.execution_options(**{WRITE_OPTION: True})
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session


def get_clock(settings: Annotated[Settings, Depends(get_settings)]) -> Clock:
    return Clock(timezone=settings.timezone)


def get_today(clock: Annotated[Clock, Depends(get_clock)]) -> date:
    return clock.today()


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
TodayDep = Annotated[date, Depends(get_today)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def valid_organisation(session: SessionDep, organisation_id: Annotated[int, Path(ge=1)]) -> Organisation:
    return organisations.get_organisation(session, organisation_id)


def valid_report(session: SessionDep, report_id: Annotated[int, Path(ge=1)]) -> Report:
    return reports.get_report(session, report_id)


def valid_recommendation(
    session: SessionDep, recommendation_id: Annotated[int, Path(ge=1)]
) -> Recommendation:
    return recommendations.get_recommendation(session, recommendation_id)


OrganisationDep = Annotated[Organisation, Depends(valid_organisation)]
ReportDep = Annotated[Report, Depends(valid_report)]
RecommendationDep = Annotated[Recommendation, Depends(valid_recommendation)]


def get_as_of(
    today: TodayDep,
    settings: SettingsDep,
    as_of: Annotated[
        Day | None,
        Query(description="The date to answer for; today (Europe/London) when left out."),
    ] = None,
) -> AsOf:
    return AsOf(day=as_of or today, today=today, due_soon_working_days=settings.due_soon_working_days)


AsOfDep = Annotated[AsOf, Depends(get_as_of)]
