"""Applications: what a team registers once (chart, artifact, environments and their policy)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, StringConstraints, field_validator, model_validator

from ...workflows.parameters import CHART_PATH, COORDINATES, GIT_REF, GIT_URL, IMAGE_REPOSITORY
from .. import models
from .common import DnsLabel, Model, TemplateFree, checked

Strategy = Literal["bluegreen", "canary", "rolling"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DURATION = re.compile(r"^\d+(s|m|h)?$|^(\d+h)?(\d+m)?(\d+s)?$")

Artifact = Annotated[str, StringConstraints(max_length=255), checked(COORDINATES)]
GitUrl = Annotated[str, StringConstraints(max_length=1024), checked(GIT_URL)]
GitRef = Annotated[str, StringConstraints(max_length=255), checked(GIT_REF)]
ChartPath = Annotated[str, StringConstraints(max_length=255), checked(CHART_PATH)]
ImageRepository = Annotated[str, StringConstraints(max_length=255), checked(IMAGE_REPOSITORY)]
Group = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\s{}]+$")]


class Pause(Model):
    #: Seconds, or a duration like 30s, 10m, 1h30m; absent: wait until promoted.
    duration: int | Annotated[str, StringConstraints(max_length=16)] | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 0 <= value <= 86400 * 7:
            raise ValueError("must be 0 to 604800 seconds")
        if isinstance(value, str) and (not value or not DURATION.fullmatch(value)):
            raise ValueError("must be seconds or a duration like 30s, 10m, 1h30m")
        return value


class CanaryStep(Model):
    """Exactly one of setWeight, pause or analysis (as the chart's `canary.steps`)."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    pause: Pause | None = None
    analysis: Annotated[dict[str, Any], TemplateFree] | None = None

    @model_validator(mode="after")
    def _one(self) -> CanaryStep:
        given = [n for n in ("set_weight", "pause", "analysis") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a step is exactly one of setWeight, pause or analysis")
        return self


class StrategyParameters(Model):
    canary_steps: list[CanaryStep] | None = Field(default=None, max_length=50)
    #: Blue-green: promote as soon as the new pods are ready.
    auto_promote: bool | None = None
    replicas: int | None = Field(default=None, ge=0, le=1000)
    #: Extra Helm values of the chart (a JSON object).
    values: Annotated[dict[str, Any], TemplateFree] | None = None
    #: Rollway's canary judge on every canary weight step and before every blue-green switch:
    #: metrics, thresholds and window (rollway.analysis.config; `{}` takes the defaults for
    #: HTTP error rate and latency). Absent: releases are not judged.
    analysis: Annotated[dict[str, Any], TemplateFree] | None = None


class Window(Model):
    """When deployments may start: a cron expression of allowed minutes (`* 9-16 * * 1-5`),
    or days with a time range (end before start runs past midnight)."""

    cron: Annotated[str, StringConstraints(max_length=128)] | None = None
    days: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    start: time | None = None
    end: time | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split()) != 5 or not croniter.is_valid(value)):
            raise ValueError("must be a 5-field cron expression like '* 9-16 * * mon-fri'")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone like Europe/Paris") from None
        return value

    @model_validator(mode="after")
    def _form(self) -> Window:
        ranged = self.days is not None or self.start is not None or self.end is not None
        if (self.cron is None) == (not ranged):
            raise ValueError("give either cron, or days with start and end")
        if ranged and (self.days is None or self.start is None or self.end is None):
            raise ValueError("days, start and end go together")
        if ranged and self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class Policy(Model):
    #: New versions are deployed here without a person asking (CI, artifact webhooks).
    auto_deploy: bool = False
    #: No release reaches traffic here without its approvals (see docs/security.md, Approvals).
    approval_required: bool = False
    #: How many distinct people must approve a release's plan (never the one who started it).
    approvers: int = Field(default=1, ge=1, le=10)
    #: Only approvals from members of these groups count (they need the approver role too);
    #: empty: any approver of the project.
    approver_groups: list[Group] = Field(default_factory=list, max_length=20)
    #: An approval older than this no longer counts (seconds; 1 to 30 days).
    approval_expiry_seconds: int = Field(default=86400, ge=1, le=30 * 86400)
    #: Empty: any time.
    windows: list[Window] = Field(default_factory=list, max_length=20)


class Environment(Model):
    name: DnsLabel
    #: Defaults to `<app>-<env>`.
    namespace: DnsLabel | None = None
    policy: Policy = Field(default_factory=lambda: Policy())


#: A deployment's states, and `rolledBack`: a rollback of one of the app's environments.
Event = Literal["running", "waiting", "succeeded", "failed", "aborted", "rejected", "rolledBack"]
#: What a webhook hears about unless it says otherwise: waiting for approval, every end, and
#: rollbacks.
DEFAULT_EVENTS: list[Event] = ["waiting", "succeeded", "failed", "aborted", "rejected",
                               "rolledBack"]  # fmt: skip


class Notification(Model):
    """A webhook told, with a JSON POST, when a deployment of the app reaches one of `events`
    (or, for `rolledBack`, when one of its environments is rolled back)."""

    url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://[^\s]+$")]
    events: list[Event] = Field(default_factory=lambda: list(DEFAULT_EVENTS), min_length=1)


class Chart(Model):
    repo: GitUrl
    path: ChartPath = "charts/app"
    ref: GitRef = "main"


class AppSpec(Model):
    """What can be set on an application, at registration or by a full update."""

    namespace: DnsLabel | None = None
    environments: list[Environment] = Field(min_length=1, max_length=20)
    chart: Chart
    artifact: Artifact
    image_repository: ImageRepository | None = None
    strategy: Strategy = "bluegreen"
    parameters: StrategyParameters = Field(default_factory=lambda: StrategyParameters())
    #: The project the application belongs to. At registration, absent: the one project the
    #: caller deploys in; on an update, absent: unchanged.
    project: DnsLabel | None = None
    notifications: list[Notification] = Field(default_factory=list, max_length=10)

    @field_validator("artifact")
    @classmethod
    def _group_and_artifact(cls, value: str) -> str:
        if value.count(":") != 1 or "@" in value:
            raise ValueError("must be group:artifact (the version comes with each deployment)")
        return value

    @field_validator("environments")
    @classmethod
    def _unique(cls, value: list[Environment]) -> list[Environment]:
        names = [e.name for e in value]
        if len(set(names)) != len(names):
            raise ValueError("environment names must be unique")
        return value


class AppCreate(AppSpec):
    name: DnsLabel


class AppOut(AppCreate):
    project: DnsLabel
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, app: models.Application) -> AppOut:
        return cls(
            name=app.name,
            namespace=app.namespace,
            environments=[Environment.model_validate(e) for e in app.environments],
            chart=Chart(repo=app.chart_repo, path=app.chart_path, ref=app.chart_ref),
            artifact=app.artifact,
            image_repository=app.image_repository,
            strategy=app.strategy,  # type: ignore[arg-type]
            parameters=StrategyParameters.model_validate(app.parameters),
            project=app.project,
            notifications=[Notification.model_validate(n) for n in app.notifications],
            created_by=app.created_by,
            created_at=app.created_at,
            updated_at=app.updated_at,
        )


class AppList(Model):
    items: list[AppOut]
