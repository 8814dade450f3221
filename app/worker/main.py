"""The worker's loop: lease, fan out, claim, send, record; reminders once a day."""

import logging
import signal
import threading
import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from app.clock import Clock
from app.config import Settings
from app.db.sessions import session_scope
from app.services import webhooks
from app.worker.sender import send

log = logging.getLogger("rectrack.worker")


class Worker:
    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.id = f"{uuid.uuid4().hex[:12]}"
        self.lease = timedelta(seconds=settings.worker_lease_seconds)
        self.stop = threading.Event()
        self.reminders_ran_for: date | None = None

    # -- the lease -----------------------------------------------------------

    def _hold_lease(self) -> None:
        with session_scope(self.engine) as session:
            webhooks.hold_lease(
                session,
                worker_id=self.id,
                now=self.clock.now(),
                lease=self.lease,
                single=self.settings.is_sqlite,
            )

    def _wait_for_lease(self) -> bool:
        """On SQLite only one worker runs: wait while another holds the lease."""
        waiting = False
        while not self.stop.is_set():
            try:
                self._hold_lease()
                return True
            except webhooks.AnotherWorkerRuns:
                if not waiting:
                    log.warning(
                        "another worker is running on this SQLite database; waiting for its lease to end"
                    )
                    waiting = True
                self.stop.wait(self.settings.worker_lease_seconds / 3)
        return False

    def _renew_lease(self) -> None:
        while not self.stop.wait(self.settings.worker_lease_seconds / 3):
            try:
                self._hold_lease()
            except Exception:  # a database blip: try again next round, the lease outlasts it
                log.exception("could not renew the worker's lease")

    # -- the work ------------------------------------------------------------

    def tick(self) -> bool:
        """One round; True when there was work (so the next round comes at once)."""
        busy = False
        with session_scope(self.engine) as session:
            busy |= webhooks.fan_out(session, now=self.clock.now()) > 0
        with session_scope(self.engine) as session:
            jobs = webhooks.claim_due(
                session, worker_id=self.id, now=self.clock.now(), settings=self.settings
            )
        for job in jobs:
            if self.stop.is_set():
                break  # claimed but unsent: free again once this worker's lease ends
            result = send(
                job,
                timeout=self.settings.webhook_timeout_seconds,
                allowed=self.settings.allowed_networks,
                clock=self.clock,
            )
            with session_scope(self.engine) as session:
                webhooks.record_attempt(
                    session,
                    job=job,
                    worker_id=self.id,
                    result=result,
                    settings=self.settings,
                    now=self.clock.now(),
                )
            log.info(
                "delivery %s to endpoint %s: %s",
                job.delivery_id,
                job.endpoint_id,
                result.status_code or result.error,
            )
            busy = True
        busy |= self._daily_reminders()
        return busy

    def _daily_reminders(self) -> bool:
        from app.services import reminders

        local = self.clock.now().astimezone(ZoneInfo(self.settings.timezone))
        today = local.date()
        if self.reminders_ran_for != today and local.time() >= self.settings.reminder_time:
            with session_scope(self.engine) as session:
                made = reminders.run_reminders(
                    session, as_of=today, today=today, settings=self.settings, now=self.clock.now()
                )
            log.info("reminders for %s: %d new", today, made)
            self.reminders_ran_for = today
        if self.settings.smtp_url is not None:
            return reminders.send_pending_emails(self.engine, settings=self.settings, clock=self.clock) > 0
        return False

    def run(self) -> None:
        if not self._wait_for_lease():
            return
        renewer = threading.Thread(target=self._renew_lease, name="lease", daemon=True)
        renewer.start()
        log.info("worker %s started", self.id)
        try:
            while not self.stop.is_set():
                try:
                    busy = self.tick()
                except Exception:
                    log.exception("the worker's round failed; trying again")
                    busy = False
                if not busy:
                    self.stop.wait(self.settings.worker_poll_seconds)
        finally:
            self.stop.set()
            renewer.join(timeout=5)
            with session_scope(self.engine) as session:
                webhooks.release_lease(session, worker_id=self.id)
            log.info("worker %s stopped", self.id)


def run_worker(settings: Settings, engine: Engine, clock: Clock) -> int:
    worker = Worker(settings, engine, clock)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop.set())
    worker.run()
    return 0
