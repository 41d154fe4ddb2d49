"""A published artifact version, and what it started."""

from __future__ import annotations

from .common import MavenVersion, Model


class Published(Model):
    version: MavenVersion


class AutoDeployment(Model):
    env: str
    #: The status a deployment request to this environment got: 201, 409, …
    status: int
    deployment_id: str | None
    detail: str


class AutoDeployments(Model):
    #: One per environment with autoDeploy; empty when none has it.
    items: list[AutoDeployment]
