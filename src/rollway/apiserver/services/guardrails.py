"""A project's guardrails, checked against an application: where it deploys, which image,
chart, Maven group and webhook hosts it names. Refusals are Forbidden and name the guardrail.

Checked when an application is registered or changed and again at every deployment, so a
guardrail an admin narrowed since takes effect at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import Forbidden
from ..models import Application, Project, ProjectNamespace


def check(
    session: Session, app: Application, *, env: str | None = None, where: str = "body"
) -> None:
    """Forbidden, naming the guardrail and the field, unless `app` keeps to its project's
    guardrails (of its environments, only `env` when given: the one a deployment targets).
    `where` prefixes the field: `body` for a registration, `app` at a deployment.

    An application's default image repository (`<registry>/<project>/<app>`) is its own and
    always allowed; a repository it names must be under one of the project's."""
    project = session.get_one(Project, app.project)
    for index, environment in enumerate(app.environments):
        if env in (None, environment["name"]):
            field = f"{where}.environments[{index}].namespace"
            _namespace(session, project, environment["namespace"], field)
    image = app.image_repository
    if image and not _image_allowed(project, image):
        raise Forbidden(
            f"image repository {image} is not under project {project.name}'s image repositories"
            f" ({_listed(project.image_repositories)})",
            field=f"{where}.imageRepository",
        )
    if not any(_url_under(app.chart_repo, p) for p in project.chart_repositories):
        raise Forbidden(
            f"chart repository {app.chart_repo} is not among project {project.name}'s chart"
            f" repositories ({_listed(project.chart_repositories)})",
            field=f"{where}.chart.repo",
        )
    group = app.artifact.split(":")[0]
    if not any(group == g or group.startswith(f"{g}.") for g in project.maven_groups):
        raise Forbidden(
            f"Maven groupId {group} is not among project {project.name}'s Maven groups"
            f" ({_listed(project.maven_groups)})",
            field=f"{where}.artifact",
        )
    for index, hook in enumerate(app.notifications):
        parts = urlsplit(hook["url"])
        host, allowed = _host(parts.netloc), project.notification_hosts
        if host is None or (host not in allowed and host.split(":")[0] not in allowed):
            raise Forbidden(
                f"notification host {parts.netloc} is not among project {project.name}'s"
                f" notification hosts ({_listed(allowed)})",
                field=f"{where}.notifications[{index}].url",
            )


def _host(netloc: str) -> str | None:
    """`host[:port]` in lower case; None for user info or a bad port, which hide the real host."""
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return None
    if "@" in netloc or not parts.hostname:
        return None
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _namespace(session: Session, project: Project, namespace: str, field: str) -> None:
    owner = session.scalar(
        select(ProjectNamespace.project).where(ProjectNamespace.namespace == namespace)
    )
    if owner == project.name:
        return
    if owner is not None:
        raise Forbidden(f"namespace {namespace} belongs to project {owner}", field=field)
    raise Forbidden(
        f"namespace {namespace} is not among project {project.name}'s namespaces"
        f" ({_listed(project.namespace_names)})",
        field=field,
    )


def _image_allowed(project: Project, image: str) -> bool:
    return any(image == p or image.startswith(f"{p}/") for p in project.image_repositories)


def _url_under(url: str, prefix: str) -> bool:
    """`url` is `prefix` or below it, segment-wise, on the very same scheme and host (user info
    included), with no query, fragment or dot segments that could make it mean another place."""
    have, want = urlsplit(url), urlsplit(prefix)
    if have.query or have.fragment or {".", ".."} & set(have.path.split("/")):
        return False
    if (have.scheme, have.netloc.lower()) != (want.scheme, want.netloc.lower()):
        return False
    base = want.path.rstrip("/")
    return have.path == want.path or have.path.startswith(f"{base}/")


def _listed(values: list[str]) -> str:
    return ", ".join(values) if values else "none"
