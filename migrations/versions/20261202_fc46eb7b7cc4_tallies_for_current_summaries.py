"""tallies for current summaries

Revision ID: fc46eb7b7cc4
Revises: 3b8e6f1c2d47
Create Date: 2026-12-02 10:22:05.375239
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'fc46eb7b7cc4'
down_revision: str | None = '3b8e6f1c2d47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Counted from the rows as they stand; the services keep the counts in step from here on.
FILL = [
    """
    INSERT INTO recommendation_tally (calendar, status, due_date, n)
    SELECT p.calendar, r.status, r.due_date, count(*)
    FROM recommendation r JOIN report p ON p.id = r.report_id
    GROUP BY p.calendar, r.status, r.due_date
    """,
    """
    INSERT INTO owner_status_tally (organisation_id, owner_status, n)
    SELECT o.organisation_id, o.status, count(*)
    FROM recommendation_owner o
    GROUP BY o.organisation_id, o.status
    """,
    """
    INSERT INTO owner_due_tally (organisation_id, due_date, n)
    SELECT o.organisation_id, r.due_date, count(*)
    FROM recommendation_owner o JOIN recommendation r ON r.id = o.recommendation_id
    WHERE o.status <> 'implemented' AND r.status NOT IN ('verified', 'closed_not_implemented')
    GROUP BY o.organisation_id, r.due_date
    """,
]


def upgrade() -> None:
    op.create_table(
        'recommendation_tally',
        sa.Column('calendar', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('calendar', 'status', 'due_date', name=op.f('pk_recommendation_tally')),
    )
    op.create_table(
        'owner_status_tally',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('owner_status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organisation_id'],
            ['organisation.id'],
            name=op.f('fk_owner_status_tally_organisation_id_organisation'),
        ),
        sa.PrimaryKeyConstraint('organisation_id', 'owner_status', name=op.f('pk_owner_status_tally')),
    )
    op.create_table(
        'owner_due_tally',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organisation_id'],
            ['organisation.id'],
            name=op.f('fk_owner_due_tally_organisation_id_organisation'),
        ),
        sa.PrimaryKeyConstraint('organisation_id', 'due_date', name=op.f('pk_owner_due_tally')),
    )
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('owner_due_tally')
    op.drop_table('owner_status_tally')
    op.drop_table('recommendation_tally')
