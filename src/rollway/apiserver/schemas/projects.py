"""Projects: who holds which role (member groups) and where the apps may reach (guardrails)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from ...auth import Role
from .. import models
from .apps import GitUrl, Group, ImageRepository
from .common import DnsLabel, Model, Text

MavenGroup = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"),
]
HostPort = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=255, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$"
    ),
]


def _unique(values: list[str]) -> list[str]:
    """Lists are sets: sorted, without repeats, so a project reads and compares the same."""
    return sorted(set(values))


class Members(Model):
    """The Keycloak groups whose members hold each role in the project."""

    viewer: list[Group] = Field(default_factory=list, max_length=50)
    deployer: list[Group] = Field(default_factory=list, max_length=50)
    approver: list[Group] = Field(default_factory=list, max_length=50)
    project_admin: list[Group] = Field(default_factory=list, max_length=50)

    @field_validator("*")
    @classmethod
    def _as_set(cls, value: list[str]) -> list[str]:
        return _unique(value)

    def by_role(self) -> dict[Role, list[str]]:
        return {
            Role.VIEWER: self.viewer,
            Role.DEPLOYER: self.deployer,
            Role.APPROVER: self.approver,
            Role.PROJECT_ADMIN: self.project_admin,
        }


class Guardrails(Model):
    """Where the project's applications may reach; an empty list allows nothing of that kind."""

    #: Namespaces the environments deploy to; a namespace belongs to one project at most.
    namespaces: list[DnsLabel] = Field(default_factory=list, max_length=200)
    #: Repository prefixes (`host[:port]/path`) under the platform registry.
    image_repositories: list[ImageRepository] = Field(default_factory=list, max_length=50)
    #: Git URL prefixes of chart repositories on the configured git host.
    chart_repositories: list[GitUrl] = Field(default_factory=list, max_length=50)
    #: Maven groupIds; each covers its sub-groups too (`com.example` covers `com.example.shop`).
    maven_groups: list[MavenGroup] = Field(default_factory=list, max_length=50)
    #: `host[:port]` that webhooks may be sent to.
    notification_hosts: list[HostPort] = Field(default_factory=list, max_length=50)

    @field_validator("*")
    @classmethod
    def _as_set(cls, value: list[str]) -> list[str]:
        return _unique(value)


class ProjectSpec(Model):
    """What can be set on a project, at creation or by a full update."""

    description: Text = ""
    members: Members = Field(default_factory=lambda: Members())
    guardrails: Guardrails = Field(default_factory=lambda: Guardrails())


class ProjectCreate(ProjectSpec):
    name: DnsLabel


class ProjectOut(ProjectCreate):
    #: The caller's roles in the project (every role for platform admins).
    your_roles: list[str] = Field(default_factory=list)
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, project: models.Project, roles: Iterable[str] = ()) -> ProjectOut:
        return cls(
            name=project.name,
            description=project.description,
            members=Members(
                viewer=project.groups(Role.VIEWER),
                deployer=project.groups(Role.DEPLOYER),
                approver=project.groups(Role.APPROVER),
                project_admin=project.groups(Role.PROJECT_ADMIN),
            ),
            guardrails=guardrails_of(project),
            your_roles=[role for role in Role if role in set(roles)],
            created_by=project.created_by,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


def guardrails_of(project: models.Project) -> Guardrails:
    return Guardrails(
        namespaces=project.namespace_names,
        image_repositories=project.image_repositories,
        chart_repositories=project.chart_repositories,
        maven_groups=project.maven_groups,
        notification_hosts=project.notification_hosts,
    )


class ProjectList(Model):
    items: list[ProjectOut]
