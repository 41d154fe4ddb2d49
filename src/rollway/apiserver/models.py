"""Database tables (SQLAlchemy); what the API shows is in `schemas`, kept apart on purpose.

Ownership is a table of its own (`app_owners`), so what a caller may see is a join, not a scan.
Two indexes carry the rules the API promises under concurrency: one in-flight deployment per
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


class Application(Base):
    __tablename__ = "applications"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63))
    artifact: Mapped[str] = mapped_column(String(255))  # group:artifact
    chart_repo: Mapped[str] = mapped_column(String(1024))
    chart_path: Mapped[str] = mapped_column(String(255))
    chart_ref: Mapped[str] = mapped_column(String(255))
    image_repository: Mapped[str | None] = mapped_column(String(255))
    strategy: Mapped[str] = mapped_column(String(16))
    #: Default strategy parameters (canarySteps, autoPromote, replicas, values).
    parameters: Mapped[dict[str, Any]]
    #: The teams (Keycloak groups) whose members see and operate the application.
    owners: Mapped[list[AppOwner]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AppOwner.group"
    )
    #: [{name, namespace, policy: {autoDeploy, approvalRequired, windows}}]
    environments: Mapped[list[Any]]
    #: [{url, events}]: webhooks told about deployments (see `services.notifications`).
    notifications: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def owning_groups(self) -> list[str]:
        return [owner.group for owner in self.owners]


class AppOwner(Base):
    """One owning group of an application: a table, so authorisation filters in SQL."""

    __tablename__ = "app_owners"
    __table_args__ = (Index("ix_app_owners_group", "group"),)

    app: Mapped[str] = mapped_column(
        ForeignKey("applications.name", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[str] = mapped_column(String(255), primary_key=True)


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


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_app_seq", "app", "seq"),
        Index("ix_audit_actor_seq", "actor", "seq"),
        Index("ix_audit_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))  # name; "anonymous" when not authenticated
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
