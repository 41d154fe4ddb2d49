"""Projects: member groups per role, guardrails, one namespace per project; apps join a project.

Existing applications move to a project named after their first owning group (`team-hello` ->
`hello`); all their owning groups become the project's viewers, so nobody sees less than
before and nobody gains a role: an admin names the deployer, approver and project-admin groups.
The guardrails are what the project's applications already use, so they keep deploying. A
namespace two migrated projects use stays with the first (by application name); the other
application's deployments there are refused until an admin moves it.

Revision ID: 0004
Revises: 0003
"""

import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

applications = sa.table(
    "applications",
    sa.column("name", sa.String),
    sa.column("project", sa.String),
    sa.column("environments", sa.JSON),
    sa.column("image_repository", sa.String),
    sa.column("chart_repo", sa.String),
    sa.column("artifact", sa.String),
    sa.column("notifications", sa.JSON),
    sa.column("created_at", sa.DateTime),
)
app_owners = sa.table("app_owners", sa.column("app", sa.String), sa.column("group", sa.String))
projects = sa.table(
    "projects",
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("image_repositories", sa.JSON),
    sa.column("chart_repositories", sa.JSON),
    sa.column("maven_groups", sa.JSON),
    sa.column("notification_hosts", sa.JSON),
    sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
members = sa.table(
    "project_members",
    sa.column("project", sa.String),
    sa.column("role", sa.String),
    sa.column("group", sa.String),
)
namespaces = sa.table(
    "project_namespaces", sa.column("namespace", sa.String), sa.column("project", sa.String)
)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("image_repositories", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("chart_repositories", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("maven_groups", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("notification_hosts", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "project_members",
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("group", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["project"], ["projects.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project", "role", "group"),
    )
    op.create_index("ix_project_members_group", "project_members", ["group"], unique=False)
    op.create_table(
        "project_namespaces",
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(["project"], ["projects.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("namespace"),
    )
    op.create_index(
        "ix_project_namespaces_project", "project_namespaces", ["project"], unique=False
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project", sa.String(length=63), nullable=True))
    _move_applications_into_projects()
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column("project", existing_type=sa.String(length=63), nullable=False)
        batch_op.create_foreign_key("fk_applications_project", "projects", ["project"], ["name"])
        batch_op.create_index("ix_applications_project", ["project"], unique=False)
    with op.batch_alter_table("app_owners", schema=None) as batch_op:
        batch_op.drop_index("ix_app_owners_group")
    op.drop_table("app_owners")


def _move_applications_into_projects() -> None:
    bind = op.get_bind()
    owners: dict[str, list[str]] = {}
    for app, group in bind.execute(sa.select(app_owners.c.app, app_owners.c.group)):
        owners.setdefault(app, []).append(group)
    built: dict[str, dict[str, Any]] = {}
    claimed: dict[str, str] = {}
    rows = bind.execute(sa.select(applications).order_by(applications.c.name)).mappings()
    for app in rows:
        groups = sorted(owners.get(app["name"], []))
        name = _project_name(groups[0]) if groups else "default"
        project = built.setdefault(name, _empty_project(name, app["created_at"]))
        project["viewers"].update(groups)
        for env in app["environments"] or []:
            namespace = env.get("namespace") or f"{app['name']}-{env['name']}"
            claimed.setdefault(namespace, name)
        if app["image_repository"]:
            project["image_repositories"].add(app["image_repository"])
        project["chart_repositories"].add(app["chart_repo"])
        project["maven_groups"].add(app["artifact"].split(":")[0])
        for hook in app["notifications"] or []:
            project["notification_hosts"].add(urlsplit(hook["url"]).netloc)
        bind.execute(
            applications.update().where(applications.c.name == app["name"]).values(project=name)
        )
    for project in built.values():
        viewers = project.pop("viewers")
        bind.execute(
            projects.insert().values(
                {k: sorted(v) if isinstance(v, set) else v for k, v in project.items()}
            )
        )
        for group in sorted(viewers):
            bind.execute(
                members.insert().values(project=project["name"], role="viewer", group=group)
            )
    for namespace, project_name in claimed.items():
        bind.execute(namespaces.insert().values(namespace=namespace, project=project_name))


def _project_name(group: str) -> str:
    """A DNS label from a group: `team-hello` -> `hello`, `/Ops Team` -> `ops-team`."""
    label = re.sub(r"[^a-z0-9-]+", "-", group.lower().removeprefix("team-")).strip("-")
    return label[:63].rstrip("-") or "default"


def _empty_project(name: str, created_at: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "migrated from application owners",
        "viewers": set(),
        "image_repositories": set(),
        "chart_repositories": set(),
        "maven_groups": set(),
        "notification_hosts": set(),
        "created_by": "migration 0004",
        "created_at": created_at,
        "updated_at": created_at,
    }


def downgrade() -> None:
    """Back to owning groups: each application is owned by its project's member groups."""
    op.create_table(
        "app_owners",
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("group", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["app"], ["applications.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app", "group"),
    )
    with op.batch_alter_table("app_owners", schema=None) as batch_op:
        batch_op.create_index("ix_app_owners_group", ["group"], unique=False)
    bind = op.get_bind()
    groups: dict[str, set[str]] = {}
    for project, group in bind.execute(sa.select(members.c.project, members.c.group)):
        groups.setdefault(project, set()).add(group)
    rows = bind.execute(sa.select(applications.c.name, applications.c.project)).all()
    owners = [{"app": a, "group": g} for a, p in rows for g in sorted(groups.get(p, ()))]
    if owners:
        op.bulk_insert(app_owners, owners)
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_project")
        batch_op.drop_constraint("fk_applications_project", type_="foreignkey")
        batch_op.drop_column("project")
    op.drop_index("ix_project_namespaces_project", table_name="project_namespaces")
    op.drop_table("project_namespaces")
    op.drop_index("ix_project_members_group", table_name="project_members")
    op.drop_table("project_members")
    op.drop_table("projects")
