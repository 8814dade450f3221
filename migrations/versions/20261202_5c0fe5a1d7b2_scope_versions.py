"""scope versions for scoped invalidation of cached answers

Revision ID: 5c0fe5a1d7b2
Revises: 7c4f2b9e0d36
Create Date: 2026-12-02 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '5c0fe5a1d7b2'
down_revision: str | None = '7c4f2b9e0d36'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Every scope is at least as new as this row: answers tagged before the table existed (with
# the change counter) are never taken for current ones.
FLOOR = "INSERT INTO scope_version (scope, version) SELECT 'everything', coalesce(max(id), 0) FROM audit_event"


def upgrade() -> None:
    op.create_table(
        'scope_version',
        sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_scope_version')),
    )
    op.execute(FLOOR)


def downgrade() -> None:
    op.drop_table('scope_version')
