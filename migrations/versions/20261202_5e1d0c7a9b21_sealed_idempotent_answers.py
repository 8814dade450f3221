"""sealed idempotent answers: forget the answers stored in the clear

Stored answers are now encrypted; those stored before were not, and some show a
secret once (a new API key, a webhook's signing secret). They are dropped: a retry
of such a request within its 48 hours runs it again instead of replaying it.

Revision ID: 5e1d0c7a9b21
Revises: 34530a356703
Create Date: 2026-12-02 07:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5e1d0c7a9b21'
down_revision: str | None = '34530a356703'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_record")


def downgrade() -> None:
    # Sealed answers cannot be read by the earlier code, which would replay the sealed text.
    op.execute("DELETE FROM idempotency_record")
