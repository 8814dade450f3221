"""versions and idempotency

Revision ID: 963c5e0bc82d
Revises: d27b295190c5
Create Date: 2026-11-29 05:46:40.225625
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '963c5e0bc82d'
down_revision: str | None = 'd27b295190c5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of organisation
# would lose its expression index on lower(code).


def upgrade() -> None:
    op.create_table('idempotency_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('in_progress', 'committed', 'done')", name=op.f('ck_idempotency_record_state_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_record_scope_key'))
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_created_at'), ['created_at'], unique=False)
    op.add_column('organisation', sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))
    op.add_column('recommendation', sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))
    op.add_column('report', sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade() -> None:
    op.drop_column('report', 'version')
    op.drop_column('recommendation', 'version')
    op.drop_column('organisation', 'version')

    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_created_at'))

    op.drop_table('idempotency_record')
