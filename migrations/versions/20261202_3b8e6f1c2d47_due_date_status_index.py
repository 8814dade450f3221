"""the due-date index carries the status, so the overdue count reads the index alone

Revision ID: 3b8e6f1c2d47
Revises: 5c0fe5a1d7b2
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '3b8e6f1c2d47'
down_revision: str | None = '5c0fe5a1d7b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_recommendation_due_date_status', 'recommendation', ['due_date', 'status'])
    op.drop_index('ix_recommendation_due_date', table_name='recommendation')


def downgrade() -> None:
    op.create_index('ix_recommendation_due_date', 'recommendation', ['due_date'])
    op.drop_index('ix_recommendation_due_date_status', table_name='recommendation')
