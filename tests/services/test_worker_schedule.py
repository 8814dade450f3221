"""The worker runs the day's reminders once a day, at RECTRACK_REMINDER_TIME by the one clock."""

from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_db_engine
from app.db.migrations import upgrade
from app.db.sessions import session_scope
from app.models import Reminder
from app.worker.main import Worker
from seed.loader import load_seed

FIRST_OVERDUE = date(2018, 6, 6)  # Kirklees' action plan was due on Tuesday 5 June 2018


def _reminders(engine) -> int:
    with session_scope(engine, writes=False) as session:
        return session.execute(select(func.count()).select_from(Reminder)).scalar_one()


def test_reminders_run_once_a_day_at_the_reminder_time(fresh_database_url):
    upgrade(fresh_database_url)
    settings = Settings(database_url=fresh_database_url, reminder_time=time(8, 0))
    engine = create_db_engine(settings)
    try:
        with session_scope(engine) as session:
            load_seed(session, now=datetime(2018, 5, 4, 9, tzinfo=UTC))
            session.commit()

        def tick(hour: int, minute: int) -> None:  # London is on BST (UTC+1) in June
            worker.clock = FixedClock(at=datetime(2018, 6, 6, hour - 1, minute, tzinfo=UTC))
            worker.tick()

        worker = Worker(settings, engine, FixedClock())
        tick(7, 59)
        assert _reminders(engine) == 0
        tick(8, 0)
        made = _reminders(engine)
        assert made > 0 and worker.reminders_ran_for == FIRST_OVERDUE
        tick(9, 0)
        assert _reminders(engine) == made
        # A restarted worker runs them again, and makes nothing twice.
        worker = Worker(settings, engine, FixedClock())
        tick(10, 0)
        assert _reminders(engine) == made and worker.reminders_ran_for == FIRST_OVERDUE
    finally:
        engine.dispose()
