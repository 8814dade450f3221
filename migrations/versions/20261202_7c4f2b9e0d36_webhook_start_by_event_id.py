"""webhook start by event id: an endpoint is sent the changes after its creation's event

Revision ID: 7c4f2b9e0d36
Revises: 5e1d0c7a9b21
Create Date: 2026-12-02 07:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c4f2b9e0d36'
down_revision: str | None = '5e1d0c7a9b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_after_event_id', sa.Integer(), server_default='0', nullable=False))
    # Endpoints made before: from the audit event of their creation, as new ones are.
    op.execute(
        "UPDATE webhook_endpoint SET starts_after_event_id = coalesce(("
        "SELECT max(audit_event.id) FROM audit_event WHERE audit_event.entity = 'webhook_endpoint'"
        " AND audit_event.action = 'create' AND audit_event.entity_id = webhook_endpoint.id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_column('starts_after_event_id')
