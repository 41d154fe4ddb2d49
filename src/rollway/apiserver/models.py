"""Database tables (SQLAlchemy); what the API shows is in `schemas`, kept apart on purpose.

Every application belongs to one project; a project's member groups (`project_members`) are a
table, so what a caller may see is a join, not a scan, and its namespaces (`project_namespaces`)
are keyed by the namespace, so the database itself refuses a namespace to a second project. Two
indexes carry the rules the API promises under concurrency: one in-flight deployment per
app and environment (a partial unique index on the in-flight states), and one deployment per
caller and Idempotency-Key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: States in which a deployment holds its app+environment.
IN_FLIGHT = ("pending", "running", "waiting")
FINISHED = ("succeeded", "failed", "aborted", "rejected")
_IN_FLIGHT_SQL = text("state IN ('pending', 'running', 'waiting')")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite, which stores them without a zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Project(Base):
    """A team's space: who holds which role in it, and the guardrails its applications keep to."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    members: Mapped[list[ProjectMember]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(ProjectMember.role, ProjectMember.group)",
    )
    namespaces: Mapped[list[ProjectNamespace]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProjectNamespace.namespace"
    )
    #: Repository prefixes (`host[:port]/path`) under the platform registry.
    image_repositories: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    #: Git URL prefixes on the configured git host.
    chart_repositories: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    #: Maven groupIds; each also covers its sub-groups (`com.example` covers `com.example.x`).
    maven_groups: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    #: `host[:port]` that webhooks may be sent to.
    notification_hosts: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def groups(self, role: str) -> list[str]:
        return [m.group for m in self.members if m.role == role]

    @property
    def namespace_names(self) -> list[str]:
        return [n.namespace for n in self.namespaces]


class ProjectMember(Base):
    """One group holding one role in a project (`viewer`, `deployer`, `approver`,
    `project-admin`)."""

    __tablename__ = "project_members"
    __table_args__ = (Index("ix_project_members_group", "group"),)

    project: Mapped[str] = mapped_column(
        ForeignKey("projects.name", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    group: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProjectNamespace(Base):
    """A namespace and the one project whose applications may deploy there (the key says one)."""

    __tablename__ = "project_namespaces"
    __table_args__ = (Index("ix_project_namespaces_project", "project"),)

    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)
    project: Mapped[str] = mapped_column(ForeignKey("projects.name", ondelete="CASCADE"))


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_project", "project"),)

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    #: The one project the application belongs to: its members and guardrails apply.
    project: Mapped[str] = mapped_column(ForeignKey("projects.name"))
    namespace: Mapped[str] = mapped_column(String(63))
    artifact: Mapped[str] = mapped_column(String(255))  # group:artifact
    chart_repo: Mapped[str] = mapped_column(String(1024))
    chart_path: Mapped[str] = mapped_column(String(255))
    chart_ref: Mapped[str] = mapped_column(String(255))
    image_repository: Mapped[str | None] = mapped_column(String(255))
    strategy: Mapped[str] = mapped_column(String(16))
    #: Default strategy parameters (canarySteps, autoPromote, replicas, values).
    parameters: Mapped[dict[str, Any]]
    #: [{name, namespace, policy: {autoDeploy, approvalRequired, windows}}]
    environments: Mapped[list[Any]]
    #: [{url, events}]: webhooks told about deployments (see `services.notifications`).
    notifications: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: 1 at registration, one more at every change of the row: the API's ETag. SQLAlchemy
    #: updates only the version it read, so no change is ever written over an unseen one.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (
        Index(
            "uq_deployments_in_flight",
            "app",
            "env",
            unique=True,
            sqlite_where=_IN_FLIGHT_SQL,
            postgresql_where=_IN_FLIGHT_SQL,
        ),
        Index("uq_deployments_idempotency", "created_by", "idempotency_key", unique=True),
        Index("ix_deployments_app_env_seq", "app", "env", "seq"),
        Index("ix_deployments_app_seq", "app", "seq"),
        Index("ix_deployments_state_seq", "state", "seq"),
    )

    #: Insertion order: keyset pagination walks it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(63), unique=True)
    app: Mapped[str] = mapped_column(ForeignKey("applications.name"))
    env: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(255))  # as requested (may be LATEST)
    strategy: Mapped[str] = mapped_column(String(16))
    #: The request as accepted and the workflow parameters derived from it.
    request: Mapped[dict[str, Any]]
    parameters: Mapped[dict[str, Any]]
    workflow: Mapped[str | None] = mapped_column(String(253))
    #: "aborted" or "rejected" once someone stopped it, so the outcome is named right.
    stop_reason: Mapped[str | None] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))

    created_by: Mapped[str] = mapped_column(String(255))  # subject
    created_by_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    submit_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    decided_by: Mapped[str | None] = mapped_column(String(255))
    decision: Mapped[str | None] = mapped_column(String(16))  # approved / rejected
    decision_comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]

    #: The workflow's nodes as last seen: [{name, type, phase, startedAt, finishedAt, …}].
    steps: Mapped[list[Any]] = mapped_column(default=list)
    #: What ran, from the steps' outputs: jar, image, chart commit, rollout revision.
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The approvals given to it, each bound to the plan it approved.
    approvals: Mapped[list[Approval]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Approval.seq"
    )


class Approval(Base):
    """One person's approval of one deployment's plan (`workflows.binding`). A row each, so N
    distinct approvers is a count, and the database refuses a second one by the same person."""

    __tablename__ = "approvals"
    __table_args__ = (Index("uq_approvals_once", "deployment_id", "plan", "subject", unique=True),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    #: sha256 hex of the plan approved: it counts for that plan only.
    plan: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: After this it no longer counts (the environment's approvalExpirySeconds).
    expires_at: Mapped[datetime]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_app_seq", "app", "seq"),
        Index("ix_audit_actor_seq", "actor", "seq"),
        Index("ix_audit_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))  # name (only authenticated calls are audited)
    subject: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1024))
    app: Mapped[str | None] = mapped_column(String(63))
    env: Mapped[str | None] = mapped_column(String(63))
    target: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))  # success / denied / rejected / failed
    detail: Mapped[str] = mapped_column(Text, default="")


class Notification(Base):
    """The outbox: written in the transaction that changes a deployment's state (or right after
    a rollback), sent after."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "due_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(String(63))
    event: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When to try (again); null once delivered or given up.
    due_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
