"""Approvals as rows: one per approver and plan, so N distinct approvers is a count.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.String(length=63), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index("ix_approvals_deployment_id", ["deployment_id"], unique=False)
        batch_op.create_index(
            "uq_approvals_once", ["deployment_id", "plan", "subject"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index("uq_approvals_once")
        batch_op.drop_index("ix_approvals_deployment_id")
    op.drop_table("approvals")
