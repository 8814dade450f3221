"""initial schema

Revision ID: 31b0f3a85e13
Revises:
Create Date: 2026-11-29 05:11:13.564681
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "31b0f3a85e13"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('nhs_trust', 'foundation_trust', 'ccg', 'nhs_england_region', 'community_interest_company', 'local_authority', 'charity', 'other')",
            name=op.f("ck_organisation_kind_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_index("uq_organisation_code_lower", "organisation", [sa.text("lower(code)")], unique=True)
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("regulator", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("review_start_date", sa.Date(), nullable=True),
        sa.Column("review_end_date", sa.Date(), nullable=True),
        sa.Column("published_date", sa.Date(), nullable=True),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("working_days_allowed", sa.Integer(), nullable=False),
        sa.Column("calendar", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("action_plan_due_date", sa.Date(), nullable=False),
        sa.Column("action_plan_submitted_date", sa.Date(), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "calendar IN ('england-and-wales', 'scotland', 'northern-ireland')",
            name=op.f("ck_report_calendar_valid"),
        ),
        sa.CheckConstraint(
            "working_days_allowed BETWEEN 1 AND 365", name=op.f("ck_report_working_days_allowed_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("slug", name=op.f("uq_report_slug")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_action_plan_due_date"), ["action_plan_due_date"], unique=False
        )

    op.create_table(
        "recommendation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
        sa.Column("section", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'implemented', 'verified', 'closed_not_implemented')",
            name=op.f("ck_recommendation_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_recommendation_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation")),
        sa.UniqueConstraint("report_id", "ref", name=op.f("uq_recommendation_report_id_ref")),
    )
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recommendation_due_date"), ["due_date"], unique=False)
        batch_op.create_index("ix_recommendation_report_id_position", ["report_id", "position"], unique=False)
        batch_op.create_index("ix_recommendation_status_due_date", ["status", "due_date"], unique=False)

    op.create_table(
        "report_action_plan_organisation",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_report_action_plan_organisation_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_action_plan_organisation_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "report_id", "organisation_id", name=op.f("pk_report_action_plan_organisation")
        ),
    )
    with op.batch_alter_table("report_action_plan_organisation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_action_plan_organisation_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "progress_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("narrative", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'implemented')",
            name=op.f("ck_progress_update_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_progress_update_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_progress_update_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_update")),
    )
    with op.batch_alter_table("progress_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_update_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "ix_progress_update_owner_reported_on",
            ["recommendation_id", "organisation_id", "reported_on"],
            unique=False,
        )

    op.create_table(
        "recommendation_citation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("paragraph", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("section", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_recommendation_citation_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_citation")),
        sa.UniqueConstraint(
            "recommendation_id",
            "paragraph",
            name=op.f("uq_recommendation_citation_recommendation_id_paragraph"),
        ),
    )
    op.create_table(
        "recommendation_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'implemented')",
            name=op.f("ck_recommendation_owner_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_recommendation_owner_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_recommendation_owner_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_owner")),
        sa.UniqueConstraint(
            "recommendation_id",
            "organisation_id",
            name=op.f("uq_recommendation_owner_recommendation_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("recommendation_owner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recommendation_owner_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "evidence_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("progress_update_id", sa.Integer(), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "url LIKE 'http://%' OR url LIKE 'https://%'", name=op.f("ck_evidence_link_url_scheme_http")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_evidence_link_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["progress_update_id"],
            ["progress_update.id"],
            name=op.f("fk_evidence_link_progress_update_id_progress_update"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendation.id"],
            name=op.f("fk_evidence_link_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_link")),
    )
    with op.batch_alter_table("evidence_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_link_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_link_progress_update_id"), ["progress_update_id"], unique=False
        )
        batch_op.create_index(
            "ix_evidence_link_recommendation_id_organisation_id",
            ["recommendation_id", "organisation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence_link", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_link_recommendation_id_organisation_id")
        batch_op.drop_index(batch_op.f("ix_evidence_link_progress_update_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_link_organisation_id"))

    op.drop_table("evidence_link")
    with op.batch_alter_table("recommendation_owner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_owner_organisation_id"))

    op.drop_table("recommendation_owner")
    op.drop_table("recommendation_citation")
    with op.batch_alter_table("progress_update", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_update_owner_reported_on")
        batch_op.drop_index(batch_op.f("ix_progress_update_organisation_id"))

    op.drop_table("progress_update")
    with op.batch_alter_table("report_action_plan_organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_action_plan_organisation_organisation_id"))

    op.drop_table("report_action_plan_organisation")
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendation_status_due_date")
        batch_op.drop_index("ix_recommendation_report_id_position")
        batch_op.drop_index(batch_op.f("ix_recommendation_due_date"))

    op.drop_table("recommendation")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_action_plan_due_date"))

    op.drop_table("report")
    op.drop_index("uq_organisation_code_lower", table_name="organisation")
    op.drop_table("organisation")
