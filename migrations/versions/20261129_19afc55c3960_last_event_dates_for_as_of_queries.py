"""last event dates for as-of queries

Revision ID: 19afc55c3960
Revises: 963c5e0bc82d
Create Date: 2026-11-29 06:44:58.656194
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '19afc55c3960'
down_revision: str | None = '963c5e0bc82d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Backfilled from the history; the services keep them up to date from here on.
OWNER_BACKFILL = """
UPDATE recommendation_owner SET last_reported_on = (
    SELECT max(p.reported_on) FROM progress_update p
    WHERE p.recommendation_id = recommendation_owner.recommendation_id
      AND p.organisation_id = recommendation_owner.organisation_id
)
"""
RECOMMENDATION_BACKFILL = """
UPDATE recommendation SET last_event_on = (
    SELECT max(day) FROM (
        SELECT o.last_reported_on AS day FROM recommendation_owner o
        WHERE o.recommendation_id = recommendation.id
        UNION ALL
        SELECT d.decided_on FROM assurance_decision d WHERE d.recommendation_id = recommendation.id
    ) AS events
)
"""


def upgrade() -> None:
    op.add_column('recommendation', sa.Column('last_event_on', sa.Date(), nullable=True))
    op.add_column('recommendation_owner', sa.Column('last_reported_on', sa.Date(), nullable=True))
    op.execute(OWNER_BACKFILL)
    op.execute(RECOMMENDATION_BACKFILL)


def downgrade() -> None:
    op.drop_column('recommendation_owner', 'last_reported_on')
    op.drop_column('recommendation', 'last_event_on')
