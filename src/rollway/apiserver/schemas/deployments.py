"""Deployments: the request that starts one, its record, step-by-step status and provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from ...chart.values import key_path
from .. import models
from .apps import CanaryStep, Strategy
from .common import DnsLabel, MavenVersion, Model, Text

State = Literal["pending", "running", "waiting", "succeeded", "failed", "aborted", "rejected"]
SetValue = Annotated[str, StringConstraints(max_length=4096)] | int | bool | None


class Overrides(Model):
    #: Chart values as `helm --set` takes them (`a.b`, `a\.b` for a literal dot, `list[0].key`),
    #: values typed as Helm types them.
    set: dict[str, SetValue] = Field(default_factory=dict, max_length=100)
    replicas: int | None = Field(default=None, ge=0, le=1000)
    canary_steps: list[CanaryStep] | None = Field(default=None, max_length=50)
    auto_promote: bool | None = None

    @field_validator("set")
    @classmethod
    def _keys(cls, value: dict[str, SetValue]) -> dict[str, SetValue]:
        for key, item in value.items():
            if len(key) > 253:
                raise ValueError(f"key {key[:60]!r}… is longer than 253 characters")
            try:
                key_path(key)
            except ValueError as err:
                raise ValueError(f"key {key!r} {err}") from None
            if isinstance(item, str) and "{{" in item:
                raise ValueError(f"value of {key!r} must not contain '{{{{' (Argo template syntax)")
        return value


class DeploymentCreate(Model):
    kind: Literal["deploy", "upgrade"] = "deploy"
    env: DnsLabel
    #: A Maven version, LATEST or RELEASE.
    version: MavenVersion
    #: Defaults to the application's strategy.
    strategy: Strategy | None = None
    overrides: Overrides = Field(default_factory=lambda: Overrides())


class Step(Model):
    name: str
    type: str
    phase: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    message: str = ""
    retries: int = 0
    outputs: dict[str, str] = Field(default_factory=dict)


class Provenance(Model):
    coordinates: str | None = None
    resolved_version: str | None = None
    jar_sha256: str | None = None
    image: str | None = None
    image_digest: str | None = None
    image_pushed: bool | None = None
    chart_repo: str | None = None
    chart_commit: str | None = None
    rollout: str | None = None
    rollout_revision: str | None = None
    #: sha256 of the exact plan (jar, image, chart commit, manifests, parameters): approvals
    #: bind to it (`workflows.binding`).
    plan: str | None = None
    workflow: str | None = None
    created_by: str
    created_at: datetime


class Decision(Model):
    decision: Literal["approved", "rejected"]
    by: str
    comment: str
    at: datetime


class ApprovalOut(Model):
    by: str
    plan: str
    comment: str
    at: datetime
    expires_at: datetime


class DeploymentSummary(Model):
    id: str
    app: str
    env: str
    namespace: str
    kind: str
    state: State
    version: str
    strategy: str
    workflow: str | None
    message: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def fields_of(d: Any) -> dict[str, Any]:
        """From a record, or a row of its summary columns (`services.deployments.page`)."""
        return {
            "id": d.id,
            "app": d.app,
            "env": d.env,
            "namespace": d.namespace,
            "kind": d.kind,
            "state": d.state,
            "version": d.version,
            "strategy": d.strategy,
            "workflow": d.workflow,
            "message": d.message,
            "created_by": d.created_by_name,
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "started_at": d.started_at,
            "finished_at": d.finished_at,
        }

    @classmethod
    def from_row(cls, row: Any) -> DeploymentSummary:
        return cls(**cls.fields_of(row))


class DeploymentOut(DeploymentSummary):
    request: dict[str, Any]
    parameters: dict[str, str]
    steps: list[Step]
    provenance: Provenance
    decision: Decision | None
    #: Every approval given, each for the plan it approved (it counts only for that plan,
    #: until it expires).
    approvals: list[ApprovalOut]

    @classmethod
    def of(cls, d: models.Deployment) -> DeploymentOut:
        decision = None
        if d.decision and d.decided_by and d.decided_at:
            decision = Decision(
                decision=d.decision,  # type: ignore[arg-type]
                by=d.decided_by,
                comment=d.decision_comment or "",
                at=d.decided_at,
            )
        return cls(
            **cls.fields_of(d),
            request=d.request,
            parameters=d.parameters,
            steps=[Step.model_validate(s) for s in d.steps],
            provenance=Provenance(
                **d.provenance,
                workflow=d.workflow,
                created_by=d.created_by_name,
                created_at=d.created_at,
            ),
            decision=decision,
            approvals=[
                ApprovalOut(
                    by=a.name, plan=a.plan, comment=a.comment, at=a.at, expires_at=a.expires_at
                )
                for a in d.approvals
            ],  # fmt: skip
        )


class DeploymentPage(Model):
    items: list[DeploymentSummary]
    #: Pass as `cursor` for the next page; null on the last page.
    next_cursor: str | None


class Comment(Model):
    comment: Text = ""


class Approve(Comment):
    #: The plan digest the approver reviewed (`provenance.plan`): refused if the plan changed.
    plan: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class Promote(Model):
    #: Skip the remaining canary steps and analysis.
    full: bool = False


class Rollback(Model):
    #: The revision to go back to; the previous one when absent.
    revision: int | None = Field(default=None, ge=1, le=2**31)


class ActionResult(Model):
    deployment: DeploymentOut
    action: str
    detail: str


class Progress(Model):
    """One update of a watch stream: the workflow's view, before the record catches up."""

    id: str
    state: str
    phase: str
    message: str
    steps: list[Step]


class Outcome(Model):
    """What the exit handler (`rollway-step report`) sends."""

    deployment_id: Annotated[str, StringConstraints(max_length=63)]
    status: Annotated[str, StringConstraints(max_length=32)]
    failures: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
