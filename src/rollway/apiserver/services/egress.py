"""The API server's side of rollway.destinations: an application's hosts against the settings.

Checked when an application is registered or changed (422 naming the field) and again when it
deploys, before the dry run or the pipeline reach any host; project guardrails narrow further.
"""

from __future__ import annotations

from ...destinations import Homes, check_notification_url
from ..schemas.apps import AppSpec
from ..settings import Settings


def homes(settings: Settings) -> Homes:
    """The hosts the server's credentials belong to, as configured."""
    return Homes.configured(
        registry=settings.registry, git_url=settings.git_url, chart_repo=settings.chart_repo
    )


def notification_hosts(settings: Settings) -> list[str]:
    """Where webhooks may go: the platform's allowlist (a project narrows it further)."""
    return list(settings.notification_hosts)


def check_app(settings: Settings, spec: AppSpec) -> None:
    """An application names only the platform registry, the git server and allowed hosts."""
    configured = homes(settings)
    if spec.image_repository:
        configured.check_image_repository(spec.image_repository, "body.imageRepository")
    configured.check_chart_repository(spec.chart.repo, "body.chart.repo")
    for index, hook in enumerate(spec.notifications):
        check_notification_url(
            hook.url, notification_hosts(settings), f"body.notifications[{index}].url"
        )


def check_deployment(settings: Settings, parameters: dict[str, str]) -> None:
    """The same, for the workflow parameters of a deployment or a dry run."""
    configured = homes(settings)
    configured.check_image_repository(parameters["image-repository"], "imageRepository")
    configured.check_chart_repository(parameters["chart-repo"], "chart.repo")
