"""Initial schema: applications, deployments (with the in-flight and idempotency rules), audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("artifact", sa.String(length=255), nullable=False),
        sa.Column("chart_repo", sa.String(length=1024), nullable=False),
        sa.Column("chart_path", sa.String(length=255), nullable=False),
        sa.Column("chart_ref", sa.String(length=255), nullable=False),
        sa.Column("image_repository", sa.String(length=255), nullable=True),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("owning_groups", sa.JSON(), nullable=False),
        sa.Column("environments", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("app", sa.String(length=63), nullable=True),
        sa.Column("env", sa.String(length=63), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_actor_seq", ["actor", "seq"], unique=False)
        batch_op.create_index("ix_audit_app_seq", ["app", "seq"], unique=False)
        batch_op.create_index("ix_audit_at", ["at"], unique=False)

    op.create_table(
        "deployments",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("env", sa.String(length=63), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("workflow", sa.String(length=253), nullable=True),
        sa.Column("stop_reason", sa.String(length=16), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_by_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submit_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app"],
            ["applications.name"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index("ix_deployments_app_env_seq", ["app", "env", "seq"], unique=False)
        batch_op.create_index("ix_deployments_state_seq", ["state", "seq"], unique=False)
        batch_op.create_index(
            "uq_deployments_idempotency", ["created_by", "idempotency_key"], unique=True
        )
        batch_op.create_index(
            "uq_deployments_in_flight",
            ["app", "env"],
            unique=True,
            sqlite_where=sa.text("state IN ('pending', 'running', 'waiting')"),
            postgresql_where=sa.text("state IN ('pending', 'running', 'waiting')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_deployments_in_flight",
            sqlite_where=sa.text("state IN ('pending', 'running', 'waiting')"),
            postgresql_where=sa.text("state IN ('pending', 'running', 'waiting')"),
        )
        batch_op.drop_index("uq_deployments_idempotency")
        batch_op.drop_index("ix_deployments_state_seq")
        batch_op.drop_index("ix_deployments_app_env_seq")

    op.drop_table("deployments")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_at")
        batch_op.drop_index("ix_audit_app_seq")
        batch_op.drop_index("ix_audit_actor_seq")

    op.drop_table("audit_events")
    op.drop_table("applications")
