"""Application ownership as a table (`app_owners`), so authorisation filters in SQL.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

applications = sa.table(
    "applications", sa.column("name", sa.String), sa.column("owning_groups", sa.JSON)
)
app_owners = sa.table("app_owners", sa.column("app", sa.String), sa.column("group", sa.String))


def upgrade() -> None:
    op.create_table(
        "app_owners",
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("group", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["app"], ["applications.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app", "group"),
    )
    with op.batch_alter_table("app_owners", schema=None) as batch_op:
        batch_op.create_index("ix_app_owners_group", ["group"], unique=False)
    rows = op.get_bind().execute(sa.select(applications.c.name, applications.c.owning_groups))
    owners = [{"app": name, "group": group} for name, groups in rows for group in set(groups or ())]
    if owners:
        op.bulk_insert(app_owners, owners)
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("owning_groups")


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owning_groups", sa.JSON(), server_default="[]", nullable=False)
        )
    groups: dict[str, list[str]] = {}
    for app, group in op.get_bind().execute(sa.select(app_owners.c.app, app_owners.c.group)):
        groups.setdefault(app, []).append(group)
    for app, names in groups.items():
        op.execute(
            applications.update()
            .where(applications.c.name == app)
            .values(owning_groups=sorted(names))
        )
    with op.batch_alter_table("app_owners", schema=None) as batch_op:
        batch_op.drop_index("ix_app_owners_group")
    op.drop_table("app_owners")
