"""Webhook delivery figures for /metrics, read from the database when scraped: the worker
is another process, so its counters would not be this one's."""

from datetime import datetime

from prometheus_client import Gauge
from sqlalchemy import Engine

from app.services.webhooks import delivery_metrics

DELIVERIES = Gauge("rectrack_webhook_deliveries", "Webhook deliveries by outcome", ["state"])
OLDEST_PENDING = Gauge(
    "rectrack_webhook_oldest_pending_delivery_age_seconds",
    "Age of the oldest webhook delivery not yet delivered or given up (0 when none)",
)


def refresh(engine: Engine, now: datetime) -> None:
    with engine.connect() as connection:
        counts, age = delivery_metrics(connection, now=now)
    for state, count in counts.items():
        DELIVERIES.labels(state=state).set(count)
    OLDEST_PENDING.set(age)
